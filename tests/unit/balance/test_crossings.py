"""Which events a change of a balance announces (CONTRACT.md §3.6), and their stable ids, as pure rules."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.balance.domain.announcements import account_of, announce
from services.balance.domain.crossings import Crossing, Renewal, crossings
from services.balance.domain.ledger import BalanceState
from shared.contracts import (Account, BalanceDepleted, BalanceLow, BalanceRestored, TopupRequested, decode,
                              encode)
from shared.topics import BALANCE_EVENTS

D = Decimal
RENEW = Renewal(enabled=True, threshold=D("10.00"), amount=D("50.00"))
NO_RENEW = Renewal(enabled=False, threshold=D("10.00"), amount=D("50.00"))
AT = datetime(2026, 10, 20, 10, 15, 2, tzinfo=UTC)
LOW, TOPUP, DEPLETED, RESTORED = Crossing.LOW, Crossing.TOPUP, Crossing.DEPLETED, Crossing.RESTORED


def balance(owner: str = "acmePA", kind: str = "partner", amount: str = "20", renewal: Renewal | None = RENEW,
            events_issued: int = 0, topup: str | None = None) -> BalanceState:
    return BalanceState(owner, kind, "acmePA", None if kind == "partner" else "bobCL",
                        "partner_paid" if kind == "partner" else "direct_paid", "EUR", D(amount), renewal,
                        topup, AT if topup else None, events_issued)


# --- balance.low and topup.requested ------------------------------------------------------------


def test_falling_from_above_the_threshold_to_below_it_announces_low_and_a_topup():
    """20 → 9.99 with auto-renewal enabled: balance.low, then topup.requested."""
    assert crossings(D("20"), D("9.99"), RENEW, topup_pending=False) == [LOW, TOPUP]


def test_falling_from_exactly_the_threshold_to_below_it_announces_low():
    """At the threshold counts as 'at or above': 10.00 → 9.999999 is a crossing."""
    assert crossings(D("10.00"), D("9.999999"), RENEW, topup_pending=False) == [LOW, TOPUP]


def test_landing_exactly_on_the_threshold_is_not_low():
    """20 → 10.00 is not below the threshold: nothing is announced."""
    assert crossings(D("20"), D("10.00"), RENEW, topup_pending=False) == []


def test_a_fall_that_starts_below_the_threshold_is_not_low_again():
    """9 → 5 stays low: nothing is announced."""
    assert crossings(D("9"), D("5"), RENEW, topup_pending=False) == []


def test_a_rise_across_the_threshold_announces_nothing():
    """5 → 20 above zero throughout: no event (crossing upwards is not an event of its own)."""
    assert crossings(D("5"), D("20"), RENEW, topup_pending=False) == []


def test_low_without_auto_renewal_enabled_requests_no_topup():
    """A disabled auto-renewal still has a threshold: balance.low alone."""
    assert crossings(D("20"), D("9"), NO_RENEW, topup_pending=False) == [LOW]


def test_a_balance_without_auto_renewal_settings_is_never_low():
    """No threshold, no balance.low; zero still counts."""
    assert crossings(D("20"), D("9"), None, topup_pending=False) == []
    assert crossings(D("20"), D("-1"), None, topup_pending=False) == [DEPLETED]


def test_a_pending_topup_request_is_not_requested_again():
    """Low again while a request is pending: balance.low without a second topup.requested."""
    assert crossings(D("20"), D("9"), RENEW, topup_pending=True) == [LOW]


def test_a_zero_auto_renewal_amount_requests_no_topup():
    """Asking the provider for 0.00 would be nonsense: only balance.low."""
    assert crossings(D("20"), D("9"), Renewal(True, D("10"), D("0")), topup_pending=False) == [LOW]


# --- balance.depleted and balance.restored ------------------------------------------------------


def test_falling_from_above_zero_to_below_zero_is_depleted():
    """0.05 → −0.0631 without a threshold crossing: balance.depleted."""
    assert crossings(D("0.05"), D("-0.0631"), RENEW, topup_pending=False) == [DEPLETED]


def test_landing_exactly_on_zero_is_depleted():
    """0.1131 → 0: zero or less pauses the channels."""
    assert crossings(D("0.1131"), D("0"), RENEW, topup_pending=False) == [DEPLETED]


def test_falling_further_below_zero_is_not_depleted_again():
    """−1 → −2 and 0 → −1: already depleted, nothing new."""
    assert crossings(D("-1"), D("-2"), RENEW, topup_pending=False) == []
    assert crossings(D("0"), D("-1"), RENEW, topup_pending=False) == []


def test_rising_from_below_zero_to_above_zero_is_restored():
    """−5 → 45: balance.restored (and no low: rising is never low)."""
    assert crossings(D("-5"), D("45"), RENEW, topup_pending=False) == [RESTORED]


def test_rising_from_exactly_zero_is_restored():
    """A new balance at 0.00 funded to 0.000001: balance.restored."""
    assert crossings(D("0"), D("0.000001"), RENEW, topup_pending=False) == [RESTORED]


def test_rising_to_exactly_zero_is_not_restored():
    """−5 → 0 is still zero or less: nothing is announced."""
    assert crossings(D("-5"), D("0"), RENEW, topup_pending=False) == []


def test_one_change_across_the_threshold_and_zero_announces_low_topup_and_depleted_in_that_order():
    """20 → −1: in the order they happen while falling."""
    assert crossings(D("20"), D("-1"), RENEW, topup_pending=False) == [LOW, TOPUP, DEPLETED]


def test_a_change_that_moves_nothing_announces_nothing():
    """Before equals after, wherever it is."""
    for amount in ("20", "10", "5", "0", "-3"):
        assert crossings(D(amount), D(amount), RENEW, topup_pending=False) == []


@pytest.mark.parametrize(("before", "after", "expected"), [
    ("10.00", "10.00", []), ("10.000001", "10.000000", []), ("10.000000", "9.999999", [LOW, TOPUP]),
    ("0.000001", "0", [DEPLETED]), ("0", "0", []), ("-0.000001", "0", []), ("0", "-0.000001", []),
])
def test_boundaries_are_judged_exactly_to_the_millionth(before, after, expected):
    """Every boundary of §3.6 at the ledger's precision."""
    assert crossings(D(before), D(after), RENEW, topup_pending=False) == expected


# --- announcements ------------------------------------------------------------------------------


def test_announced_events_carry_the_contract_fields_and_the_balance_after_the_change():
    """balance.low, topup.requested, balance.depleted with threshold, amount, channel_ids and the amount after."""
    state = balance(amount="20")
    events, moved = announce(state, [LOW, TOPUP, DEPLETED], D("-0.113100"), AT, ["acmeCH0001", "acmeCH0002"])
    low, topup, depleted = events
    assert isinstance(low, BalanceLow) and isinstance(topup, TopupRequested)
    assert isinstance(depleted, BalanceDepleted)
    for e in events:
        assert e.balance == Account(partner_id="acmePA")
        assert e.balance_amount == D("-0.1131") and str(e.balance_amount) == "-0.1131"
        assert e.currency == "EUR" and e.at == AT
    assert low.threshold == D("10.00")
    assert topup.amount == D("50.00")
    assert depleted.channel_ids == ["acmeCH0001", "acmeCH0002"]
    assert moved.amount == D("-0.113100")
    assert moved.events_issued == 3
    assert moved.topup_request_id == topup.request_id
    # Every event survives the wire unchanged.
    for e in events:
        assert decode(BALANCE_EVENTS.name, encode(e)) == e


def test_event_ids_are_distinct_uuids_and_stable_for_the_same_balance_and_counter():
    """Announcing the same change again from the same state gives the same ids; each event its own."""
    state = balance(amount="20", events_issued=7)
    first, _ = announce(state, [LOW, TOPUP, DEPLETED], D("-1"), AT, ["acmeCH0001"])
    again, _ = announce(state, [LOW, TOPUP, DEPLETED], D("-1"), AT, ["acmeCH0001"])
    ids = [e.event_id for e in first]
    assert ids == [e.event_id for e in again]
    assert len(set(ids)) == 3
    for i in ids:
        assert str(uuid.UUID(i)) == i
    assert first[1].request_id == again[1].request_id
    assert first[1].request_id.startswith("tr_")


def test_later_events_of_a_balance_and_events_of_other_balances_get_other_ids():
    """The counter moves on, and two balances never share an id."""
    state = balance(amount="20")
    first, moved = announce(state, [LOW, TOPUP], D("9"), AT, [])
    second, _ = announce(moved, [LOW, TOPUP], D("8"), AT, [])
    other, _ = announce(balance("globexCH0007", kind="channel", amount="20"), [LOW, TOPUP], D("9"), AT, [])
    ids = [e.event_id for e in (*first, *second, *other)]
    assert len(set(ids)) == 6
    assert len({first[1].request_id, second[1].request_id, other[1].request_id}) == 3


def test_a_channel_balance_is_named_by_its_channel_and_restored_lists_it():
    """A Direct-Paid channel's balance: account {channel_id}, channel_ids as given."""
    state = balance("globexCH0007", kind="channel", amount="0")
    [restored], moved = announce(state, [RESTORED], D("50.00"), AT, ["globexCH0007"])
    assert isinstance(restored, BalanceRestored)
    assert account_of(state) == Account(channel_id="globexCH0007")
    assert restored.balance == Account(channel_id="globexCH0007")
    assert restored.channel_ids == ["globexCH0007"]
    assert restored.balance_amount == D("50.00")
    assert moved.topup_request_id is None and moved.events_issued == 1


def test_announcing_nothing_moves_only_the_amount():
    """No crossing: no events, the counter and the pending request unchanged."""
    state = balance(amount="20", events_issued=4, topup="tr_x")
    events, moved = announce(state, [], D("15"), AT, [])
    assert events == []
    assert moved.amount == D("15")
    assert (moved.events_issued, moved.topup_request_id, moved.topup_requested_at) == (4, "tr_x", AT)
