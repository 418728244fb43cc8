"""The per-message fold of CONTRACT.md §4.1, and the verdict on a folded message, without I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from services.usage_ingest.domain.accounts import ChannelAccount
from services.usage_ingest.domain.charging import (MessageState, Observation, Outcome, PricingInfo, fold,
                                                   observe)
from services.usage_ingest.domain.settlement import Verdict, verdict

T0 = datetime(2026, 10, 20, 10, 0, 0, tzinfo=UTC)
MARKETING = PricingInfo("PMP", "marketing", "regular", True)
UTILITY = PricingInfo("PMP", "utility", "regular", True)
ACCOUNT = ChannelAccount("acmeCH0001", "bobCL", "acmePA", "partner_paid", "EUR")

# Meta's order of events: sent, then delivered, then read, each a second later.
SECONDS = {"sent": 0, "delivered": 1, "read": 2, "failed": 1}


def obs(status: str, pricing: PricingInfo | None = MARKETING, at: datetime | None = None,
        message_id: str = "wamid.1", conversation: str | None = None) -> Observation:
    return Observation(message_id=message_id, channel_id="acmeCH0001", status=status,
                       at=at or T0 + timedelta(seconds=SECONDS[status]), country="DE", pricing=pricing,
                       conversation_id=conversation)


def folded(observations: list[Observation]) -> MessageState:
    """The state of the one message of `observations`, folded in one batch."""
    [state] = fold({}, observations).values()
    return state


def folded_one_by_one(observations: list[Observation]) -> MessageState:
    """The state of the one message of `observations`, each status a batch of its own."""
    state: MessageState | None = None
    for o in observations:
        state = observe(state, o)
    assert state is not None
    return state


def orders(*observations: Observation) -> list[list[Observation]]:
    return [list(p) for p in permutations(observations)]


@pytest.mark.parametrize("statuses", [("sent", "delivered"), ("sent", "read"), ("delivered", "read"),
                                      ("sent", "delivered", "read")])
def test_delivery_evidence_and_pricing_make_a_message_ready_in_every_order(statuses):
    """Whatever order sent/delivered/read arrive in, a priced and delivered message ends up ready."""
    for order in orders(*(obs(s) for s in statuses)):
        for state in (folded(order), folded_one_by_one(order)):
            assert state.ready, [o.status for o in order]
            assert state.outcome is Outcome.PENDING
            assert state.pricing == MARKETING
            expected = min(T0 + timedelta(seconds=SECONDS[s]) for s in statuses if s != "sent")
            assert state.delivered_at == expected


@pytest.mark.parametrize("statuses", [("sent", "failed"), ("delivered", "failed"), ("sent", "delivered", "failed"),
                                      ("sent", "delivered", "read", "failed"), ("read", "failed")])
def test_a_failed_message_is_never_ready_in_any_order(statuses):
    """`failed` anywhere among a message's statuses settles it as failed: it is never charged."""
    for order in orders(*(obs(s) for s in statuses)):
        for state in (folded(order), folded_one_by_one(order)):
            assert state.outcome is Outcome.FAILED, [o.status for o in order]
            assert state.failed and state.settled and not state.ready


def test_a_delivery_reported_after_failed_does_not_revive_the_message():
    """A failed message stays failed when a delivered or read status arrives later."""
    state = folded_one_by_one([obs("sent"), obs("failed"), obs("delivered"), obs("read")])
    assert state.outcome is Outcome.FAILED
    assert state.delivered_at is None
    assert verdict(state, ACCOUNT) is Verdict.WAIT


def test_a_message_that_only_reports_sent_is_never_ready():
    """Without a delivered or read status there is no delivery evidence, however often sent repeats."""
    state = folded([obs("sent"), obs("sent"), obs("sent")])
    assert not state.ready
    assert state.delivered_at is None
    assert verdict(state, ACCOUNT) is Verdict.WAIT


def test_pricing_only_on_sent_is_used_when_delivery_comes_without_one_in_every_order():
    """Pricing is known from any status: sent's pricing prices a delivery that carries none."""
    for statuses in (("sent", "delivered"), ("sent", "delivered", "read")):
        observations = [obs(s, pricing=MARKETING if s == "sent" else None) for s in statuses]
        for order in orders(*observations):
            for state in (folded(order), folded_one_by_one(order)):
                assert state.ready, [o.status for o in order]
                assert state.pricing == MARKETING
                assert state.delivered_at == T0 + timedelta(seconds=1)


def test_pricing_only_on_delivered_is_used_in_every_order():
    """A sent status without pricing does not stop a priced delivery from being charged."""
    for order in orders(obs("sent", pricing=None), obs("delivered"), obs("read", pricing=None)):
        for state in (folded(order), folded_one_by_one(order)):
            assert state.ready
            assert state.pricing == MARKETING


def test_pricing_on_both_sent_and_delivered_takes_the_deliverys_in_every_order():
    """When sent and delivered disagree, the delivery's pricing is the verdict that counts."""
    for order in orders(obs("sent", pricing=UTILITY), obs("delivered", pricing=MARKETING)):
        for state in (folded(order), folded_one_by_one(order)):
            assert state.pricing == MARKETING, [o.status for o in order]


def test_delivery_without_pricing_is_not_ready():
    """Delivery evidence alone is not enough: the pricing must be known too."""
    state = folded([obs("sent", pricing=None), obs("delivered", pricing=None), obs("read", pricing=None)])
    assert state.delivered_at is not None
    assert not state.ready


def test_the_earliest_delivery_evidence_is_the_billing_time_whatever_arrives_first():
    """A read stamped before its delivered (clocks differ) makes the read the billing time."""
    read_first = T0 + timedelta(seconds=5)
    delivered_later = T0 + timedelta(seconds=9)
    for order in orders(obs("read", at=read_first), obs("delivered", at=delivered_later), obs("sent")):
        assert folded(order).delivered_at == read_first
        assert folded_one_by_one(order).delivered_at == read_first


def test_duplicate_statuses_fold_to_the_same_state_as_one():
    """The same status arriving many times is the same as arriving once."""
    once = folded([obs("sent"), obs("delivered")])
    many = folded([obs("sent"), obs("delivered"), obs("delivered"), obs("sent"), obs("delivered")])
    assert many == once


def test_refolding_a_batch_already_folded_changes_nothing():
    """A redelivered batch (after a crash before the offset commit) reports no changed message."""
    batch = [obs("sent"), obs("delivered"), obs("read")]
    states = fold({}, batch)
    assert fold(states, batch) == {}


def test_fold_returns_only_the_messages_a_batch_changed():
    """Messages whose state a batch does not change are not returned (nothing to save or settle)."""
    states = fold({}, [obs("delivered", message_id="wamid.A")])
    changed = fold(states, [obs("delivered", message_id="wamid.A"), obs("sent", message_id="wamid.B")])
    assert set(changed) == {"wamid.B"}


@pytest.mark.parametrize("outcome", [Outcome.CHARGED, Outcome.FREE, Outcome.FAILED])
def test_a_settled_message_is_not_changed_by_any_later_status(outcome):
    """Once charged, free or failed, a message's state is final: a charge is never repeated or undone."""
    state = replace(folded([obs("delivered")]), outcome=outcome)
    for later in (obs("failed"), obs("read", at=T0 - timedelta(hours=1)), obs("delivered", pricing=UTILITY)):
        assert observe(state, later) is state


@pytest.mark.parametrize("outcome", [Outcome.NO_RATE, Outcome.UNKNOWN_CHANNEL])
def test_a_dead_lettered_message_is_evaluated_again_when_its_status_is_replayed(outcome):
    """no_rate and unknown_channel are not final: replayed from the DLQ after the fix, it can be charged."""
    state = replace(folded([obs("delivered")]), outcome=outcome)
    assert not state.settled
    assert state.ready
    assert verdict(state, ACCOUNT) is Verdict.CHARGE


def test_country_and_conversation_are_kept_from_the_first_status_that_has_them():
    """The recipient's country and the conversation id survive statuses that lack them."""
    first = Observation("wamid.1", "acmeCH0001", "sent", T0, "DE", MARKETING, "conv-1")
    second = Observation("wamid.1", "acmeCH0001", "delivered", T0 + timedelta(seconds=1), None, None, None)
    state = folded([first, second])
    assert (state.country, state.conversation_id, state.pricing) == ("DE", "conv-1", MARKETING)


@pytest.mark.parametrize(("type_", "billable", "free"), [
    ("regular", True, False),
    ("free_customer_service", True, True),
    ("free_entry_point", True, True),
    ("free_group_customer_service", True, True),
    (None, False, True),
    (None, True, False),
    ("regular", False, False),  # the type decides when there is one
])
def test_only_regular_or_billable_without_a_type_is_charged(type_, billable, free):
    """`pricing.type` other than `regular`, or `billable: false` without a type, is free."""
    assert PricingInfo("PMP", "marketing", type_, billable).is_free is free


def test_the_verdict_of_a_ready_message_depends_on_its_channel_pricing_type_and_model():
    """Unknown channel → hold; free type → free; CBP with a conversation → claim it; else charge."""
    ready = folded([obs("delivered")])
    assert verdict(ready, None) is Verdict.HOLD
    assert verdict(ready, ACCOUNT) is Verdict.CHARGE
    free = folded([obs("delivered", pricing=PricingInfo("PMP", "service", "free_customer_service", True))])
    assert verdict(free, ACCOUNT) is Verdict.FREE
    cbp = PricingInfo("CBP", "marketing", "regular", True)
    assert verdict(folded([obs("delivered", pricing=cbp, conversation="c1")]), ACCOUNT) is Verdict.FIRST_OF_CONVERSATION
    # A CBP message without a conversation id cannot be matched: charged on its own.
    assert verdict(folded([obs("delivered", pricing=cbp)]), ACCOUNT) is Verdict.CHARGE
    free_cbp = PricingInfo("CBP", "service", "free_entry_point", True)
    assert verdict(folded([obs("delivered", pricing=free_cbp, conversation="c1")]), ACCOUNT) is Verdict.FREE


def test_a_message_that_is_not_ready_waits_even_when_its_channel_is_unknown():
    """Only ready messages are held; one without delivery or pricing simply waits."""
    assert verdict(folded([obs("sent")]), None) is Verdict.WAIT
    assert verdict(folded([obs("delivered", pricing=None)]), None) is Verdict.WAIT


def test_the_partner_paid_account_is_the_partners_balance_and_direct_paid_the_channels():
    """Partner-Paid usage debits the partner's shared balance; Direct-Paid, the channel's own."""
    assert ACCOUNT.balance.model_dump(exclude_none=True) == {"partner_id": "acmePA"}
    direct = ChannelAccount("globexCH0007", "initechCL", "globexPA", "direct_paid", "USD")
    assert direct.balance.model_dump(exclude_none=True) == {"channel_id": "globexCH0007"}


@pytest.mark.parametrize("outcome", [Outcome.NO_RATE, Outcome.UNKNOWN_CHANNEL])
def test_a_replayed_status_of_a_dead_lettered_message_makes_it_pending_again(outcome):
    """Even a status that adds nothing new changes a dead-lettered message back to pending, to be settled again."""
    delivered = obs("delivered")
    state = replace(folded([delivered]), outcome=outcome)
    again = fold({"wamid.1": state}, [delivered])
    assert again == {"wamid.1": replace(state, outcome=Outcome.PENDING)}
    failed = observe(state, obs("failed"))
    assert failed.outcome is Outcome.FAILED
