"""The prepaid ledger's rules through the balance use cases, on the in-memory store.

Each test feeds directory events, priced usage, payments and month closes to
the use cases as the consumer hands them over, and looks at what the
transactions left behind: balances, ledger entries, held payments, refusals
and the outbox (balance events, ledger entries, closings). After every use
case the ledger invariant is checked: each balance equals the sum of its
entries.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.balance import service
from shared.contracts import (Account, BalanceClosing, BalanceDepleted, BalanceLow, BalanceRestored, ErrorCode,
                              LedgerClose, LedgerClosed, LedgerEntry, PaymentLine, TopupRequested, UsageLine,
                              decode)
from shared.dead_letters import Rejected
from shared.outbox import OutboxRecord
from shared.topics import BALANCE_EVENTS, BALANCE_MOVES, LEDGER_CLOSED, LEDGER_ENTRIES, PAYMENTS
from tests.builders import channel, client, partner

from .fakes import FakeBalanceStore, FakeUnitOfWork, Feed, StoreFailure

D = Decimal
NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
HOLD_S = 3600.0
ACME = {"partner_id": "acmePA"}
GLOBEX7 = {"channel_id": "globexCH0007"}
GLOBEX8 = {"channel_id": "globexCH0008"}
ACME_RENEWAL = {"enabled": True, "threshold": "10.00", "amount": "50.00"}
GLOBEX_RENEWAL = {"enabled": True, "threshold": "5.00", "amount": "20.00"}

# channel → (partner, client, billing model, currency)
CHANNELS = {
    "acmeCH0001": ("acmePA", "bobCL", "partner_paid", "EUR"),
    "acmeCH0002": ("acmePA", "aliceCL", "partner_paid", "EUR"),
    "acmeCH0003": ("acmePA", "bobCL", "partner_paid", "EUR"),
    "globexCH0007": ("globexPA", "initechCL", "direct_paid", "USD"),
    "globexCH0008": ("globexPA", "hooliCL", "direct_paid", "USD"),
    "newCH0001": ("newPA", "newCL", "partner_paid", "EUR"),
    "dpCH0001": ("dpPA", "dpCL", "direct_paid", "EUR"),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def usage(usage_id: str, channel_id: str = "acmeCH0001", amount: str = "0.1131",
          at: str = "2026-10-20T10:15:01Z", category: str = "marketing") -> dict[str, Any]:
    """The priced usage usage ingest publishes for one charged message of `channel_id`."""
    partner_id, client_id, model, currency = CHANNELS[channel_id]
    return {"usage_id": usage_id,
            "balance": {"partner_id": partner_id} if model == "partner_paid" else {"channel_id": channel_id},
            "partner_id": partner_id, "client_id": client_id, "channel_id": channel_id, "billing_model": model,
            "currency": currency, "category": category, "pricing_model": "PMP", "conversation_id": None,
            "country": "DE", "market": "Germany", "ratecard_id": f"test-2026-10-{currency}", "rate": amount,
            "amount": amount, "billed_at": at, "usage_month": at[:7]}


def payment(payment_id: str, account: dict[str, str] = ACME, amount: str = "100.00", currency: str = "EUR",
            method: str = "card", at: str = "2026-10-18T08:00:00Z", topup: str | None = None) -> dict[str, Any]:
    return {"type": "payment.succeeded", "payment_id": payment_id, "account": account, "amount": amount,
            "currency": currency, "method": method, "paid_at": at, "topup_request_id": topup}


def refund(refund_id: str, account: dict[str, str] = ACME, amount: str = "30.00", currency: str = "EUR",
           at: str = "2026-10-19T08:00:00Z") -> dict[str, Any]:
    return {"type": "refund.succeeded", "refund_id": refund_id, "account": account, "amount": amount,
            "currency": currency, "refunded_at": at}


def with_renewal(body: dict[str, Any], renewal: dict[str, Any] | None) -> dict[str, Any]:
    return {**body, "auto_renewal": renewal}


@dataclass
class Step:
    """What one use case call left in the outbox, and what it refused."""

    records: list[OutboxRecord]
    refused: list[Rejected] = field(default_factory=list)
    settled: int = 0  # what retry_held_payments returns: applied or refused, no longer held

    def _of(self, topic: str) -> list[Any]:
        return [decode(topic, r.value) for r in self.records if r.topic == topic]

    @property
    def events(self) -> list[Any]:
        return self._of(BALANCE_EVENTS.name)

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    @property
    def ledger(self) -> list[LedgerEntry]:
        return self._of(LEDGER_ENTRIES.name)

    @property
    def closed(self) -> list[Any]:
        return self._of(LEDGER_CLOSED.name)

    @property
    def codes(self) -> list[tuple[int, ErrorCode]]:
        """(offset, code) of every refusal, in order."""
        return [(r.record.offset, r.code) for r in self.refused]


def _announcements(records: list[OutboxRecord]) -> list[OutboxRecord]:
    """What a step announced; the portal's balance-moved records are tested in test_portal_feeds.py."""
    return [r for r in records if r.topic != BALANCE_MOVES.name]


@dataclass
class World:
    """One balance instance with its store, and the records it has consumed so far."""

    uow: FakeUnitOfWork = field(default_factory=lambda: FakeUnitOfWork(FakeBalanceStore(now=NOW)))
    feed: Feed = field(default_factory=Feed)

    @property
    def store(self) -> FakeBalanceStore:
        return self.uow.store

    def check(self) -> None:
        """The ledger invariant: every balance equals the sum of its entries, exactly."""
        assert self.store.ledger_mismatches() == {}
        keys = [(e.kind, e.business_id) for e in self.store.entries()]
        assert len(keys) == len(set(keys))

    async def _step(self, call: Any) -> Step:
        before = len(self.store.outbox)
        try:
            refused = await call
        finally:
            self.check()
        return Step(_announcements(self.store.outbox[before:]), refused or [])

    async def directory(self, *bodies: dict[str, Any]) -> Step:
        step = await self._step(service.apply_directory(self.uow, self.feed.directory(*bodies)))
        assert step.refused == [] and step.records == []
        return step

    async def usage(self, *bodies: dict[str, Any], now: datetime = NOW) -> Step:
        step = await self._step(service.apply_usage(self.uow, self.feed.usage(*bodies), now))
        assert step.refused == []
        return step

    async def usage_batch(self, batch: list[Any], now: datetime = NOW) -> Step:
        """A batch built earlier, delivered (again)."""
        return await self._step(service.apply_usage(self.uow, batch, now))

    async def payments(self, *bodies: dict[str, Any], now: datetime = NOW, hold_s: float = HOLD_S) -> Step:
        return await self._step(service.apply_payments(self.uow, self.feed.payments(*bodies), now, hold_s))

    async def retry(self, now: datetime) -> Step:
        dead: list[Rejected] = []

        async def dead_letter(refused: list[Rejected]) -> None:
            dead.extend(refused)

        before = len(self.store.outbox)
        settled = await service.retry_held_payments(self.uow, now, HOLD_S, dead_letter)
        self.check()
        return Step(_announcements(self.store.outbox[before:]), dead, settled)

    async def close(self, month: str, close_id: str | None = None) -> Step:
        command = LedgerClose(type="ledger.close", close_id=close_id or f"close-{month}", month=month)
        return await self._step(service.close_ledger(self.uow, command))

    def amount(self, owner: str) -> Decimal:
        return self.store.amount(owner)


async def new_world() -> World:
    """Acme (Partner-Paid, EUR, renewal 10.00/50.00) with two active channels and one cancelled;
    Globex (Direct-Paid, USD) with globexCH0007 (renewal 5.00/20.00) and globexCH0008 (none)."""
    w = World()
    await w.directory(
        partner("acmePA", auto_renewal=ACME_RENEWAL), client("bobCL", "acmePA"), client("aliceCL", "acmePA"),
        channel("acmeCH0001", "bobCL", "acmePA"), channel("acmeCH0002", "aliceCL", "acmePA"),
        channel("acmeCH0003", "bobCL", "acmePA"),
        {"type": "channel.cancelled", "channel_id": "acmeCH0003", "partner_id": "acmePA",
         "cancelled_at": "2026-10-05T00:00:00Z"},
        partner("globexPA", "direct_paid", "USD"), client("initechCL", "globexPA"), client("hooliCL", "globexPA"),
        with_renewal(channel("globexCH0007", "initechCL", "globexPA"), GLOBEX_RENEWAL),
        channel("globexCH0008", "hooliCL", "globexPA"))
    return w


@pytest.fixture
async def world():
    w = await new_world()
    yield w
    w.check()


@pytest.fixture
async def empty():
    w = World()
    yield w
    w.check()


def assert_uuid(text: str) -> None:
    assert str(uuid.UUID(text)) == text


# --- whose balance: routing and opening ----------------------------------------------------------


async def test_the_directory_opens_a_partner_balance_for_partner_paid_and_one_per_direct_paid_channel(world):
    """acmePA's shared balance, globexCH0007's and globexCH0008's; none for a PP channel or a DP partner."""
    b = world.store.balances
    assert sorted(b) == ["acmePA", "globexCH0007", "globexCH0008"]
    assert (b["acmePA"].kind, b["acmePA"].partner_id, b["acmePA"].client_id, b["acmePA"].billing_model,
            b["acmePA"].currency, b["acmePA"].amount) == ("partner", "acmePA", None, "partner_paid", "EUR", D(0))
    g = b["globexCH0007"]
    assert (g.kind, g.partner_id, g.client_id, g.billing_model, g.currency, g.amount) == (
        "channel", "globexPA", "initechCL", "direct_paid", "USD", D(0))
    assert b["globexCH0008"].client_id == "hooliCL"
    assert world.store.entries() == []


async def test_a_channel_added_under_a_partner_paid_partner_opens_no_balance(world):
    """A new PP channel shares the partner's balance."""
    await world.directory(channel("acmeCH0009", "bobCL", "acmePA"))
    assert "acmeCH0009" not in world.store.balances


async def test_a_channel_added_under_a_direct_paid_partner_opens_its_own_balance_at_zero(world):
    """A new DP channel gets its own balance, in its partner's currency."""
    await world.directory(channel("globexCH0009", "initechCL", "globexPA"))
    b = world.store.balances["globexCH0009"]
    assert (b.kind, b.partner_id, b.client_id, b.currency, b.amount) == (
        "channel", "globexPA", "initechCL", "USD", D(0))


async def test_partner_paid_usage_of_every_channel_debits_the_partners_shared_balance(world):
    """Two channels of two clients of acmePA: one balance falls by both."""
    step = await world.usage(usage("wamid.1", "acmeCH0001"), usage("wamid.2", "acmeCH0002", "0.0456",
                                                                    category="utility"))
    assert world.amount("acmePA") == D("-0.1587")
    assert {e.owner_id for e in world.store.entries()} == {"acmePA"}
    assert sorted(world.store.balances) == ["acmePA", "globexCH0007", "globexCH0008"]
    assert step.events == []  # a new balance at 0 is already paused: nothing is depleted


async def test_direct_paid_usage_debits_each_channels_own_balance(world):
    """globexCH0007 and globexCH0008 each pay for their own messages; no partner balance appears."""
    await world.usage(usage("wamid.1", "globexCH0007", "0.1365"), usage("wamid.2", "globexCH0008", "0.0714"),
                      usage("wamid.3", "globexCH0007", "0.1365"))
    assert world.amount("globexCH0007") == D("-0.2730")
    assert world.amount("globexCH0008") == D("-0.0714")
    assert "globexPA" not in world.store.balances
    [e] = world.store.entries("globexCH0008")
    assert (e.kind, e.business_id, e.amount, e.channel_id, e.client_id, e.category, e.booked_month) == (
        "usage", "wamid.2", D("-0.0714"), "globexCH0008", "hooliCL", "marketing", "2026-10")


async def test_usage_arriving_before_the_directory_opens_the_balance_it_debits(empty):
    """PP usage opens the partner's balance, DP usage the channel's, from what the usage carries."""
    await empty.usage(usage("wamid.1", "acmeCH0001"), usage("wamid.2", "globexCH0007", "0.1365"))
    a, g = empty.store.balances["acmePA"], empty.store.balances["globexCH0007"]
    assert (a.kind, a.partner_id, a.client_id, a.billing_model, a.currency, a.amount) == (
        "partner", "acmePA", None, "partner_paid", "EUR", D("-0.1131"))
    assert (g.kind, g.partner_id, g.client_id, g.billing_model, g.currency, g.amount) == (
        "channel", "globexPA", "initechCL", "direct_paid", "USD", D("-0.1365"))


async def test_the_directory_arriving_after_usage_keeps_the_balance_and_adds_its_auto_renewal():
    """The late partner.upserted does not reset the amount; its threshold then announces low."""
    w = World()
    await w.usage(usage("wamid.1"))
    await w.directory(partner("acmePA", auto_renewal=ACME_RENEWAL), channel("acmeCH0001", "bobCL", "acmePA"))
    assert w.amount("acmePA") == D("-0.1131")
    step = await w.payments(payment("pay_1", amount="20.1131"))
    assert step.types == ["balance.restored"]
    assert step.events[0].channel_ids == ["acmeCH0001"]
    step = await w.usage(usage("wamid.2", amount="10.5"))
    assert step.types == ["balance.low", "topup.requested"]
    w.check()


async def test_a_repeated_partner_upserted_changing_model_or_currency_is_skipped(world):
    """The model and currency stay; no second balance appears for the partner."""
    await world.directory(partner("acmePA", "direct_paid", "EUR"), partner("acmePA", "partner_paid", "USD"),
                          partner("globexPA", "partner_paid", "USD"))
    assert sorted(world.store.balances) == ["acmePA", "globexCH0007", "globexCH0008"]
    assert world.store.partners["acmePA"].billing_model == "partner_paid"
    assert world.store.partners["acmePA"].currency == "EUR"
    # The renewal of the skipped repeat was not taken either.
    assert world.store.partners["acmePA"].renewal.threshold == D("10.00")


async def test_a_repeated_partner_upserted_changes_the_auto_renewal_the_balance_is_judged_by(world):
    """Threshold raised to 100.00: falling below it now is low; disabled: no top-up."""
    await world.payments(payment("pay_1", amount="150.00"))
    await world.directory(partner("acmePA", auto_renewal={"enabled": False, "threshold": "100.00",
                                                          "amount": "50.00"}))
    step = await world.usage(usage("wamid.1", amount="50.5"))
    assert step.types == ["balance.low"]
    assert step.events[0].threshold == D("100.00")


# --- ledger arithmetic and duplicates ------------------------------------------------------------


async def test_a_thousand_debits_of_0_1131_sum_exactly_in_one_batch_and_across_batches(world):
    """1000 × 0.1131 = 113.1 exactly, whether in one batch or in batches of 100."""
    await world.payments(payment("pay_1", amount="100.00"), payment("pay_2", GLOBEX7, "100.00", "USD"))
    await world.usage(*(usage(f"wamid.a{i}") for i in range(1000)))
    for b in range(10):
        await world.usage(*(usage(f"wamid.b{b}.{i}", "globexCH0007") for i in range(100)))
    assert world.amount("acmePA") == D("-13.1")
    assert world.amount("globexCH0007") == D("-13.1")
    assert sum((e.amount for e in world.store.entries("acmePA")), D(0)) == D("-13.1")
    assert len(world.store.entries("acmePA")) == 1001


async def test_six_decimal_rates_are_debited_to_the_millionth(world):
    """0.000001 and 0.123456 leave exactly 0.876543 of a 1.00 balance."""
    await world.payments(payment("pay_1", amount="1.00"))
    await world.usage(usage("wamid.1", amount="0.000001"), usage("wamid.2", amount="0.123456"))
    assert world.amount("acmePA") == D("0.876543")


async def test_the_same_usage_twice_in_one_batch_is_debited_once(world):
    """A message published twice can land in one batch: one entry, one debit."""
    await world.usage(usage("wamid.1"), usage("wamid.1"), usage("wamid.2"), usage("wamid.1"))
    assert world.amount("acmePA") == D("-0.2262")
    assert sorted(e.business_id for e in world.store.entries()) == ["wamid.1", "wamid.2"]


async def test_the_same_usage_in_a_later_batch_or_a_redelivered_batch_moves_nothing_and_announces_nothing(world):
    """Redelivery after a crash: no second debit, no second balance event."""
    await world.payments(payment("pay_1", amount="0.2262"))
    batch = world.feed.usage(usage("wamid.1"), usage("wamid.2"))
    first = await world.usage_batch(batch)
    assert first.types == ["balance.depleted"]
    again = await world.usage_batch(batch)
    later = await world.usage(usage("wamid.2"), usage("wamid.1"))
    assert again.records == [] and later.records == []
    assert world.amount("acmePA") == D("0")
    assert len(world.store.entries("acmePA")) == 3


async def test_the_same_payment_twice_in_one_batch_and_across_batches_is_credited_once(world):
    """pay_1 three times: one credit, one ledger entry record, one balance.restored."""
    first = await world.payments(payment("pay_1"), payment("pay_1"))
    later = await world.payments(payment("pay_1"))
    assert world.amount("acmePA") == D("100.00")
    assert [r.entry_id for r in first.ledger] == ["pay_1"]
    assert first.types == ["balance.restored"]
    assert later.records == [] and later.refused == [] and first.refused == []
    assert len(world.store.entries("acmePA")) == 1


async def test_the_same_refund_twice_is_debited_once(world):
    """ref_1 in two batches (with room for both): one debit."""
    await world.payments(payment("pay_1", amount="100.00"))
    first = await world.payments(refund("ref_1", amount="10.00"))
    again = await world.payments(refund("ref_1", amount="10.00"))
    assert world.amount("acmePA") == D("90.00")
    assert len(first.ledger) == 1 and again.records == [] and again.refused == []


async def test_a_payment_and_a_usage_with_the_same_business_id_are_different_entries(world):
    """UNIQUE is per (kind, business id): a payment id equal to a usage id still credits."""
    await world.usage(usage("X1"))
    await world.payments(payment("X1", amount="1.00"))
    assert world.amount("acmePA") == D("0.8869")


async def test_a_failing_transaction_leaves_the_ledger_as_it_was_and_a_retry_applies_it_once(world):
    """The outbox insert fails: nothing moved; the redelivered batch then moves it once."""
    batch = world.feed.usage(usage("wamid.1"), usage("wamid.2"))
    world.store.fail_on = "emit"
    with pytest.raises(StoreFailure):
        await world.usage_batch(batch)
    assert world.uow.rolled_back == 1
    assert world.amount("acmePA") == D(0) and world.store.entries() == [] and world.store.outbox == []
    world.store.fail_on = None
    await world.usage_batch(batch)
    assert world.amount("acmePA") == D("-0.2262")


# --- balance.low and topup.requested -------------------------------------------------------------


async def test_falling_from_above_the_threshold_to_below_announces_low_with_a_topup_request(world):
    """20.00 → 9.50: balance.low (threshold 10.00) then topup.requested (amount 50.00), both at the usage's time."""
    await world.payments(payment("pay_1", amount="20.00"))
    step = await world.usage(usage("wamid.1", amount="10.5", at="2026-10-20T10:15:01Z"))
    low, topup = step.events
    assert isinstance(low, BalanceLow) and isinstance(topup, TopupRequested)
    assert (low.balance, low.balance_amount, low.currency, low.threshold, low.at) == (
        Account(partner_id="acmePA"), D("9.50"), "EUR", D("10.00"), utc("2026-10-20T10:15:01Z"))
    assert (topup.balance, topup.balance_amount, topup.amount) == (Account(partner_id="acmePA"), D("9.50"),
                                                                   D("50.00"))
    assert topup.request_id.startswith("tr_")
    assert all(r.key == b"acmePA" for r in step.records)
    b = world.store.balances["acmePA"]
    assert (b.topup_request_id, b.topup_requested_at) == (topup.request_id, NOW)


async def test_landing_exactly_on_the_threshold_is_not_low_and_the_next_debit_below_is(world):
    """20.00 → 10.00: nothing; 10.00 → 9.999999: low and a top-up."""
    await world.payments(payment("pay_1", amount="20.00"))
    assert (await world.usage(usage("wamid.1", amount="10.00"))).events == []
    assert world.amount("acmePA") == D("10.00")
    step = await world.usage(usage("wamid.2", amount="0.000001"))
    assert step.types == ["balance.low", "topup.requested"]
    assert step.events[0].balance_amount == D("9.999999")


async def test_a_fall_that_starts_below_the_threshold_is_not_low_again(world):
    """Once low, further debits above zero announce nothing."""
    await world.payments(payment("pay_1", amount="20.00"))
    await world.usage(usage("wamid.1", amount="10.5"))
    step = await world.usage(usage("wamid.2", amount="1"), usage("wamid.3", amount="1"))
    assert step.records == []
    assert world.amount("acmePA") == D("7.50")


async def test_low_without_auto_renewal_enabled_requests_no_topup(world):
    """Auto-renewal disabled: balance.low alone, nothing pending."""
    await world.directory(partner("acmePA", auto_renewal={**ACME_RENEWAL, "enabled": False}))
    await world.payments(payment("pay_1", amount="20.00"))
    step = await world.usage(usage("wamid.1", amount="10.5"))
    assert step.types == ["balance.low"]
    assert world.store.balances["acmePA"].topup_request_id is None


async def test_a_balance_without_auto_renewal_is_never_low_but_still_depletes(world):
    """globexCH0008 has no auto-renewal: only zero counts."""
    await world.payments(payment("pay_1", GLOBEX8, "20.00", "USD"))
    step = await world.usage(usage("wamid.1", "globexCH0008", "19.5"))
    assert step.events == []
    step = await world.usage(usage("wamid.2", "globexCH0008", "0.5"))
    assert step.types == ["balance.depleted"]


async def test_a_pending_topup_is_not_requested_again_and_is_requested_again_once_it_lapsed(world):
    """Low again within 24 h of the request: no second topup.requested; 24 h after it: a new request."""
    await world.payments(payment("pay_1", amount="20.00"))
    first = await world.usage(usage("wamid.1", amount="10.5"), now=NOW)
    request = first.events[1].request_id
    await world.payments(payment("pay_2", amount="5.00", method="bank_transfer"), now=NOW + timedelta(hours=1))
    step = await world.usage(usage("wamid.2", amount="5.00"), now=NOW + timedelta(hours=1))
    assert step.types == ["balance.low"]
    await world.payments(payment("pay_3", amount="5.00"), now=NOW + timedelta(hours=23, minutes=59))
    step = await world.usage(usage("wamid.3", amount="5.00"), now=NOW + timedelta(hours=23, minutes=59))
    assert step.types == ["balance.low"]
    await world.payments(payment("pay_4", amount="5.00"), now=NOW + timedelta(hours=24))
    step = await world.usage(usage("wamid.4", amount="5.00"), now=NOW + timedelta(hours=24))
    assert step.types == ["balance.low", "topup.requested"]
    assert step.events[1].request_id != request
    b = world.store.balances["acmePA"]
    assert (b.topup_request_id, b.topup_requested_at) == (step.events[1].request_id, NOW + timedelta(hours=24))


async def test_the_payment_answering_the_request_clears_it_and_the_next_fall_requests_again(world):
    """pay with topup_request_id = request_id: nothing pending; the next low asks with a new request_id."""
    await world.payments(payment("pay_1", amount="20.00"))
    request = (await world.usage(usage("wamid.1", amount="10.5"))).events[1].request_id
    step = await world.payments(payment("pay_2", amount="50.00", topup=request), now=NOW + timedelta(minutes=5))
    assert step.events == []
    assert world.store.balances["acmePA"].topup_request_id is None
    assert world.amount("acmePA") == D("59.50")
    step = await world.usage(usage("wamid.2", amount="50.00"), now=NOW + timedelta(minutes=10))
    assert step.types == ["balance.low", "topup.requested"]
    assert step.events[1].request_id != request


async def test_a_payment_answering_another_request_does_not_clear_the_pending_one(world):
    """A stale topup_request_id leaves the current request pending: no second request within 24 h."""
    await world.payments(payment("pay_1", amount="20.00"))
    request = (await world.usage(usage("wamid.1", amount="10.5"))).events[1].request_id
    await world.payments(payment("pay_2", amount="50.00", topup="tr_someotherrequest"))
    assert world.store.balances["acmePA"].topup_request_id == request
    step = await world.usage(usage("wamid.2", amount="50.00"))
    assert step.types == ["balance.low"]


async def test_a_topup_landing_exactly_on_the_threshold_then_a_debit_below_is_low_again(world):
    """9.8869 + 0.1131 (answering the request) = 10.0000; then 0.000001 less: low and a new request."""
    await world.payments(payment("pay_1", amount="20.00"))
    request = (await world.usage(usage("wamid.1", amount="10.1131"))).events[1].request_id
    step = await world.payments(payment("pay_2", amount="0.1131", topup=request))
    assert step.events == []
    assert world.amount("acmePA") == D("10.0000")
    step = await world.usage(usage("wamid.2", amount="0.000001"))
    assert step.types == ["balance.low", "topup.requested"]
    assert step.events[1].request_id != request


async def test_a_direct_paid_channel_is_low_by_its_own_auto_renewal(world):
    """globexCH0007 (threshold 5.00, amount 20.00): its own low and top-up request, keyed by the channel."""
    await world.payments(payment("pay_1", GLOBEX7, "6.00", "USD"))
    step = await world.usage(usage("wamid.1", "globexCH0007", "1.5"))
    low, topup = step.events
    assert low.balance == Account(channel_id="globexCH0007") and low.threshold == D("5.00")
    assert topup.amount == D("20.00") and topup.currency == "USD"
    assert all(r.key == b"globexCH0007" for r in step.records)


# --- balance.depleted and balance.restored -------------------------------------------------------


async def test_the_first_topup_of_a_new_balance_announces_restored_for_every_active_channel(world):
    """0.00 → 100.00: balance.restored for acmeCH0001 and acmeCH0002, not the cancelled acmeCH0003."""
    step = await world.payments(payment("pay_1", amount="100.00", at="2026-10-18T08:00:00Z"))
    [restored] = step.events
    assert isinstance(restored, BalanceRestored)
    assert (restored.balance, restored.balance_amount, restored.currency, restored.at, restored.channel_ids) == (
        Account(partner_id="acmePA"), D("100.00"), "EUR", utc("2026-10-18T08:00:00Z"),
        ["acmeCH0001", "acmeCH0002"])
    assert_uuid(restored.event_id)


async def test_a_direct_paid_channels_restored_and_depleted_name_only_that_channel(world):
    """globexCH0007's balance pauses and resumes globexCH0007 alone."""
    step = await world.payments(payment("pay_1", GLOBEX7, "1.00", "USD"))
    assert step.events[0].channel_ids == ["globexCH0007"]
    step = await world.usage(usage("wamid.1", "globexCH0007", "1.00"))
    [depleted] = step.events
    assert isinstance(depleted, BalanceDepleted)
    assert depleted.channel_ids == ["globexCH0007"] and depleted.balance == Account(channel_id="globexCH0007")


async def test_falling_from_above_zero_to_exactly_zero_is_depleted(world):
    """0.2262 → 0: balance.depleted, balance_amount 0."""
    await world.payments(payment("pay_1", amount="0.2262"))
    step = await world.usage(usage("wamid.1"), usage("wamid.2", at="2026-10-20T10:15:09Z"))
    [depleted] = step.events
    assert isinstance(depleted, BalanceDepleted)
    assert depleted.balance_amount == D("0")
    assert depleted.channel_ids == ["acmeCH0001", "acmeCH0002"]
    assert depleted.at == utc("2026-10-20T10:15:09Z")  # the latest movement of the change


async def test_falling_further_below_zero_is_not_depleted_again(world):
    """Once at or below zero, more usage announces nothing."""
    await world.payments(payment("pay_1", amount="0.1131"))
    assert (await world.usage(usage("wamid.1"))).types == ["balance.depleted"]
    assert (await world.usage(usage("wamid.2"))).records == []
    assert world.amount("acmePA") == D("-0.1131")


async def test_a_topup_landing_exactly_on_zero_is_not_restored_and_the_next_one_is(world):
    """−0.1131 + 0.1131 = 0 stays paused; + 0.01 restores."""
    await world.usage(usage("wamid.1"))
    assert (await world.payments(payment("pay_1", amount="0.1131"))).events == []
    assert world.amount("acmePA") == D("0")
    step = await world.payments(payment("pay_2", amount="0.01"))
    assert step.types == ["balance.restored"]
    assert step.events[0].balance_amount == D("0.01")


async def test_one_batch_crossing_the_threshold_and_zero_announces_low_topup_and_depleted_in_order(world):
    """20.00 → −0.2 in one batch: three events, distinct uuid event ids, one request id."""
    await world.payments(payment("pay_1", amount="20.00"))
    step = await world.usage(usage("wamid.1", amount="10.1"), usage("wamid.2", amount="10.1"))
    assert step.types == ["balance.low", "topup.requested", "balance.depleted"]
    assert all(e.balance_amount == D("-0.2") for e in step.events)
    ids = [e.event_id for e in step.events]
    assert len(set(ids)) == 3
    for i in ids:
        assert_uuid(i)
    assert step.events[2].channel_ids == ["acmeCH0001", "acmeCH0002"]


async def test_a_channel_cancelled_later_still_pauses_and_a_re_added_one_pauses_again(world):
    """Cancelled after now: still active; acmeCH0003 added again: active again."""
    await world.directory({"type": "channel.cancelled", "channel_id": "acmeCH0002", "partner_id": "acmePA",
                           "cancelled_at": "2026-10-31T23:00:00Z"},
                          channel("acmeCH0003", "bobCL", "acmePA"))
    step = await world.payments(payment("pay_1", amount="1.00"))
    assert step.events[0].channel_ids == ["acmeCH0001", "acmeCH0002", "acmeCH0003"]


async def test_event_ids_and_request_ids_are_stable_across_a_rolled_back_attempt_and_a_replay():
    """The same history gives the same ids, even when a transaction failed and was redelivered."""

    async def history(fail: bool) -> list[Any]:
        w = await new_world()
        await w.payments(payment("pay_1", amount="20.00"))
        batch = w.feed.usage(usage("wamid.1", amount="10.1"), usage("wamid.2", amount="10.1"))
        if fail:
            w.store.fail_on = "emit"
            with pytest.raises(StoreFailure):
                await w.usage_batch(batch)
            w.store.fail_on = None
        await w.usage_batch(batch)
        await w.payments(payment("pay_2", amount="60.00"))
        return [decode(BALANCE_EVENTS.name, r.value) for r in w.store.outbox if r.topic == BALANCE_EVENTS.name]

    plain, failed = await history(False), await history(True)
    assert plain == failed
    assert [e.type for e in plain] == ["balance.restored", "balance.low", "topup.requested", "balance.depleted",
                                       "balance.restored"]
    assert len({e.event_id for e in plain}) == 5


# --- payments and refunds: the ledger entry records ----------------------------------------------


async def test_a_payment_emits_a_ledger_entry_with_its_booked_month_and_the_balance_after(world):
    """A PP partner's card top-up: kind payment, positive amount, method, request id, balance_after."""
    await world.usage(usage("wamid.1"))
    step = await world.payments(payment("pay_1", amount="100.00", at="2026-10-18T08:00:00Z", topup="tr_x"))
    [entry] = step.ledger
    assert entry == LedgerEntry(
        entry_id="pay_1", kind="payment", balance=Account(partner_id="acmePA"), partner_id="acmePA",
        client_id=None, channel_id=None, billing_model="partner_paid", currency="EUR", amount=D("100.00"),
        method="card", occurred_at=utc("2026-10-18T08:00:00Z"), booked_month="2026-10", topup_request_id="tr_x",
        balance_after=D("99.8869"))
    assert step.records[0].key == b"acmePA"
    assert [r.topic for r in step.records] == [LEDGER_ENTRIES.name, BALANCE_EVENTS.name]


async def test_a_refund_emits_a_ledger_entry_with_a_positive_amount_and_no_method(world):
    """A DP channel's refund: kind refund, amount 30.00 (not −30.00), channel and client named."""
    await world.payments(payment("pay_1", GLOBEX7, "100.00", "USD", method="pix"))
    step = await world.payments(refund("ref_1", GLOBEX7, "30.00", "USD", at="2026-10-19T08:00:00Z"))
    [entry] = step.ledger
    assert entry == LedgerEntry(
        entry_id="ref_1", kind="refund", balance=Account(channel_id="globexCH0007"), partner_id="globexPA",
        client_id="initechCL", channel_id="globexCH0007", billing_model="direct_paid", currency="USD",
        amount=D("30.00"), method=None, occurred_at=utc("2026-10-19T08:00:00Z"), booked_month="2026-10",
        topup_request_id=None, balance_after=D("70.00"))
    assert world.amount("globexCH0007") == D("70.00")
    [e] = [e for e in world.store.entries("globexCH0007") if e.kind == "refund"]
    assert e.amount == D("-30.00")


async def test_payments_and_refunds_of_one_batch_carry_their_running_balance_in_order(world):
    """pay 100, refund 30, pay 5.5, refund 75.5: balance_after 100, 70, 75.5, 0; one restored, one depleted net."""
    step = await world.payments(payment("pay_1", amount="100"), refund("ref_1", amount="30"),
                                payment("pay_2", amount="5.5", method="boleto"), refund("ref_2", amount="75.5"))
    assert [(e.entry_id, e.kind, e.amount, e.balance_after) for e in step.ledger] == [
        ("pay_1", "payment", D("100"), D("100")), ("ref_1", "refund", D("30"), D("70")),
        ("pay_2", "payment", D("5.5"), D("75.5")), ("ref_2", "refund", D("75.5"), D("0"))]
    # Crossings are judged on the batch as one change: 0 → 0 crosses nothing.
    assert step.events == []
    assert world.amount("acmePA") == D("0")


async def test_usage_emits_no_ledger_entry_record(world):
    """Only payments and refunds reach invoicing one by one; usage goes by the month's closing."""
    await world.payments(payment("pay_1", amount="1.00"))
    step = await world.usage(usage("wamid.1"), usage("wamid.2", "globexCH0007", "0.1365"))
    assert step.ledger == []
    assert {r.topic for r in step.records} <= {BALANCE_EVENTS.name}


# --- refusals (§3.4) -----------------------------------------------------------------------------


async def test_a_payment_for_an_account_the_directory_has_not_shown_is_held_then_applied_when_it_appears(world):
    """newPA unknown: held (no refusal, no balance); after partner.upserted the retry credits it."""
    step = await world.payments(payment("pay_1", {"partner_id": "newPA"}, "40.00", at="2026-10-18T08:00:00Z"))
    assert step.refused == [] and step.records == []
    assert "newPA" not in world.store.balances
    [held] = world.store.held.values()
    assert (held.topic, held.offset, held.key, held.held_at) == (PAYMENTS.name, 0, b"newPA", NOW)
    nothing = await world.retry(NOW + timedelta(minutes=10))
    assert (nothing.settled, nothing.refused, nothing.records) == (0, [], [])
    assert len(world.store.held) == 1
    await world.directory(partner("newPA"), channel("newCH0001", "newCL", "newPA"))
    step = await world.retry(NOW + timedelta(minutes=20))
    assert step.settled == 1 and step.refused == []
    assert world.store.held == {}
    assert world.amount("newPA") == D("40.00")
    assert [e.entry_id for e in step.ledger] == ["pay_1"]
    assert step.types == ["balance.restored"] and step.events[0].channel_ids == ["newCH0001"]
    assert (await world.retry(NOW + timedelta(hours=5))).settled == 0


async def test_a_held_payment_whose_account_never_appears_is_refused_as_unknown_account_after_the_hold_time(world):
    """Still unknown an hour after it was held: unknown_account to the DLQ, released, nothing moved."""
    await world.payments(payment("pay_1", {"channel_id": "ghostCH0001"}, "40.00"))
    step = await world.retry(NOW + timedelta(seconds=HOLD_S))
    assert step.settled == 1
    assert step.codes == [(0, ErrorCode.UNKNOWN_ACCOUNT)]
    assert world.store.held == {} and step.records == []
    assert "ghostCH0001" not in world.store.balances


async def test_without_a_hold_time_an_unknown_account_is_refused_at_once(world):
    """hold_s = 0: unknown_account straight from apply_payments."""
    step = await world.payments(payment("pay_1", {"partner_id": "newPA"}), hold_s=0)
    assert step.codes == [(0, ErrorCode.UNKNOWN_ACCOUNT)]
    assert world.store.held == {}


async def test_a_held_payment_is_refused_for_its_own_reason_once_its_account_appears(world):
    """The account appears in USD: the EUR payment held for it is currency_mismatch, not applied."""
    await world.payments(payment("pay_1", {"partner_id": "newPA"}, "40.00", "EUR"))
    await world.directory(partner("newPA", currency="USD"))
    step = await world.retry(NOW + timedelta(minutes=1))
    assert step.codes == [(0, ErrorCode.CURRENCY_MISMATCH)]
    assert world.amount("newPA") == D(0) and world.store.held == {}


REFUSED = [
    ("a channel of a Partner-Paid partner", payment("pay_x", {"channel_id": "acmeCH0001"}),
     ErrorCode.UNKNOWN_ACCOUNT),
    ("a Direct-Paid partner itself", payment("pay_x", {"partner_id": "globexPA"}, currency="USD"),
     ErrorCode.UNKNOWN_ACCOUNT),
    ("a currency other than the partner's", payment("pay_x", currency="USD"), ErrorCode.CURRENCY_MISMATCH),
    ("a refund in another currency", refund("ref_x", amount="1.00", currency="USD"), ErrorCode.CURRENCY_MISMATCH),
    ("a DP channel paid in the wrong currency", payment("pay_x", GLOBEX7, currency="EUR"),
     ErrorCode.CURRENCY_MISMATCH),
    ("a zero payment", payment("pay_x", amount="0.00"), ErrorCode.INVALID_AMOUNT),
    ("a negative payment", payment("pay_x", amount="-10.00"), ErrorCode.INVALID_AMOUNT),
    ("a zero refund", refund("ref_x", amount="0"), ErrorCode.INVALID_AMOUNT),
    ("a negative refund", refund("ref_x", amount="-5.00"), ErrorCode.INVALID_AMOUNT),
    ("seven decimals", payment("pay_x", amount="10.0000001"), ErrorCode.INVALID_AMOUNT),
    ("an absurd amount", payment("pay_x", amount="1000000000000000000"), ErrorCode.INVALID_AMOUNT),
    ("a refund larger than the balance", refund("ref_x", amount="50.000001"), ErrorCode.REFUND_EXCEEDS_BALANCE),
]


@pytest.mark.parametrize(("case", "body", "code"), REFUSED, ids=[c[0] for c in REFUSED])
async def test_a_refused_payment_or_refund_goes_to_the_dlq_and_moves_nothing(world, case, body, code):
    """Each §3.4 refusal: its code, no entry, no ledger record, no event, every balance unchanged."""
    await world.payments(payment("pay_0", amount="50.00"), payment("pay_00", GLOBEX7, "50.00", "USD"))
    amounts = {o: b.amount for o, b in world.store.balances.items()}
    entries = len(world.store.entries())
    step = await world.payments(body)
    assert step.codes == [(2, code)]
    assert step.refused[0].record.value is not None and step.refused[0].reason
    assert step.records == []
    assert {o: b.amount for o, b in world.store.balances.items()} == amounts
    assert len(world.store.entries()) == entries
    assert world.store.held == {}
    assert sorted(world.store.balances) == ["acmePA", "globexCH0007", "globexCH0008"]


async def test_a_refund_of_exactly_the_balance_is_taken_and_depletes_it(world):
    """50.00 − 50.00 = 0: allowed; a refund is a fall like any other (threshold 10.00, then zero)."""
    await world.payments(payment("pay_1", amount="50.00"))
    step = await world.payments(refund("ref_1", amount="50.00"))
    assert step.refused == [] and world.amount("acmePA") == D("0")
    assert step.types == ["balance.low", "topup.requested", "balance.depleted"]


async def test_refusals_are_judged_in_order_within_one_batch(world):
    """Payment then refund: both taken; refund before the payment that would cover it: refused."""
    step = await world.payments(payment("pay_1", amount="40.00"), refund("ref_1", amount="40.00"))
    assert step.refused == [] and world.amount("acmePA") == D("0")
    step = await world.payments(refund("ref_2", amount="10.00"), payment("pay_2", amount="10.00"),
                                refund("ref_3", amount="10.00"), refund("ref_4", amount="0.01"))
    assert step.codes == [(2, ErrorCode.REFUND_EXCEEDS_BALANCE), (5, ErrorCode.REFUND_EXCEEDS_BALANCE)]
    assert [e.entry_id for e in step.ledger] == ["pay_2", "ref_3"]
    assert world.amount("acmePA") == D("0")


async def test_a_refused_record_does_not_stop_the_rest_of_its_batch(world):
    """A bad payment between two good ones: the good ones are credited."""
    step = await world.payments(payment("pay_1", amount="10"), payment("pay_2", amount="-1"),
                                payment("pay_3", GLOBEX7, "7", "USD"), payment("pay_4", amount="5"))
    assert step.codes == [(1, ErrorCode.INVALID_AMOUNT)]
    assert world.amount("acmePA") == D("15") and world.amount("globexCH0007") == D("7")
    assert [e.entry_id for e in step.ledger] == ["pay_1", "pay_3", "pay_4"]


# --- booking months and closing ------------------------------------------------------------------


async def test_movements_of_a_closed_month_are_booked_to_the_next_open_month(world):
    """After 2026-10 closed: October usage, payment and refund are booked to 2026-11."""
    await world.close("2026-10")
    await world.usage(usage("wamid.1", at="2026-10-31T23:59:59Z"))
    pay = await world.payments(payment("pay_1", amount="10.00", at="2026-10-30T08:00:00Z"))
    ref = await world.payments(refund("ref_1", amount="1.00", at="2026-09-30T08:00:00Z"))
    nov = await world.payments(payment("pay_2", amount="1.00", at="2026-11-02T08:00:00Z"))
    dec = await world.payments(payment("pay_3", amount="1.00", at="2026-12-02T08:00:00Z"))
    assert [e.booked_month for e in world.store.entries("acmePA")] == ["2026-11"] * 4 + ["2026-12"]
    assert pay.ledger[0].booked_month == ref.ledger[0].booked_month == nov.ledger[0].booked_month == "2026-11"
    assert dec.ledger[0].booked_month == "2026-12"


async def test_closing_a_month_when_nothing_is_closed_closes_just_that_month(world):
    """One closing per balance with entries, then the ledger.closed marker; earlier months are not closed."""
    await world.payments(payment("pay_1", amount="10.00", at="2026-09-15T08:00:00Z"))
    await world.usage(usage("wamid.1", at="2026-10-02T00:00:00Z"))
    step = await world.close("2026-10")
    *closings, marker = step.closed
    assert marker == LedgerClosed(type="ledger.closed", close_id="close-2026-10", month="2026-10", balances=1)
    [c] = closings
    assert (c.month, c.close_id, c.starting_balance, c.usage, c.ending_balance) == (
        "2026-10", "close-2026-10", D("10.00"), D("0.1131"), D("9.8869"))
    assert world.store.last_closed_month == "2026-10"
    assert sorted(world.store.closings) == [("2026-10", "acmePA")]
    assert all(r.key == b"2026-10" for r in step.records)


async def test_closing_two_months_ahead_closes_the_month_in_between_first(world):
    """2026-10 closed, close 2026-12: 2026-11 then 2026-12, each with its closings and its marker."""
    await world.close("2026-10")
    await world.usage(usage("wamid.n", at="2026-11-10T00:00:00Z"))
    await world.usage(usage("wamid.d", "globexCH0007", "0.1365", at="2026-12-10T00:00:00Z"))
    step = await world.close("2026-12", "close-2026-12")
    shape = [(type(r).__name__, r.month, r.balance.owner_id if isinstance(r, BalanceClosing) else r.balances)
             for r in step.closed]
    assert shape == [("BalanceClosing", "2026-11", "acmePA"), ("LedgerClosed", "2026-11", 1),
                     ("BalanceClosing", "2026-12", "acmePA"), ("BalanceClosing", "2026-12", "globexCH0007"),
                     ("LedgerClosed", "2026-12", 2)]
    assert {r.close_id for r in step.closed} == {"close-2026-12"}
    assert world.store.last_closed_month == "2026-12"
    assert [r.key for r in step.records] == [b"2026-11", b"2026-11", b"2026-12", b"2026-12", b"2026-12"]


async def test_closing_a_closed_month_again_republishes_its_saved_closings_unchanged(world):
    """Later movements do not change a closed month: the same closings, and last_closed stays."""
    await world.payments(payment("pay_1", amount="10.00"))
    first = await world.close("2026-10")
    await world.usage(usage("wamid.late", at="2026-10-31T00:00:00Z"))
    await world.close("2026-11")
    again = await world.close("2026-10")
    assert again.closed == first.closed
    assert world.store.last_closed_month == "2026-11"
    assert world.store.calls.count("summarize") == 2


async def test_a_month_closing_adds_up_and_the_next_month_starts_where_it_ended(world):
    """starting + added − usage − refunds = ending, exactly; November starts at October's ending."""
    await world.payments(payment("pay_1", amount="100.00", at="2026-10-05T08:00:00Z"),
                         payment("pay_2", amount="0.5", method="pix", at="2026-10-03T08:00:00Z"))
    await world.usage(usage("wamid.1"), usage("wamid.2"), usage("wamid.3", "acmeCH0002"),
                      usage("wamid.4", amount="0.0456", category="utility"))
    await world.payments(refund("ref_1", amount="30.00", at="2026-10-28T08:00:00Z"))
    [oct_] = [c for c in (await world.close("2026-10")).closed if isinstance(c, BalanceClosing)]
    assert (oct_.starting_balance, oct_.added_funds, oct_.usage, oct_.refunds, oct_.ending_balance) == (
        D("0"), D("100.50"), D("0.3849"), D("30.00"), D("70.1151"))
    assert oct_.ending_balance == oct_.starting_balance + oct_.added_funds - oct_.usage - oct_.refunds
    assert oct_.ending_balance == world.amount("acmePA")
    assert (oct_.balance, oct_.partner_id, oct_.client_id, oct_.billing_model, oct_.currency) == (
        Account(partner_id="acmePA"), "acmePA", None, "partner_paid", "EUR")
    assert oct_.payments == [
        PaymentLine(payment_id="pay_2", method="pix", amount=D("0.50"), paid_at=utc("2026-10-03T08:00:00Z")),
        PaymentLine(payment_id="pay_1", method="card", amount=D("100.00"), paid_at=utc("2026-10-05T08:00:00Z"))]
    await world.usage(usage("wamid.5", at="2026-11-03T00:00:00Z"))
    [nov] = [c for c in (await world.close("2026-11")).closed if isinstance(c, BalanceClosing)]
    assert nov.starting_balance == oct_.ending_balance
    assert (nov.added_funds, nov.usage, nov.refunds, nov.ending_balance) == (D(0), D("0.1131"), D(0), D("70.002"))
    assert nov.payments == []


async def test_usage_lines_are_per_channel_category_and_usage_month_with_late_usage_in_the_next_month(world):
    """October's usage processed after October closed appears in November with usage_month 2026-10."""
    await world.usage(usage("wamid.1"), usage("wamid.2"), usage("wamid.3", amount="0.0456", category="utility"),
                      usage("wamid.4", "acmeCH0002"))
    [oct_] = [c for c in (await world.close("2026-10")).closed if isinstance(c, BalanceClosing)]
    assert oct_.usage_lines == [
        UsageLine(channel_id="acmeCH0001", client_id="bobCL", category="marketing", usage_month="2026-10",
                  quantity=2, amount=D("0.2262")),
        UsageLine(channel_id="acmeCH0001", client_id="bobCL", category="utility", usage_month="2026-10",
                  quantity=1, amount=D("0.0456")),
        UsageLine(channel_id="acmeCH0002", client_id="aliceCL", category="marketing", usage_month="2026-10",
                  quantity=1, amount=D("0.1131"))]
    await world.usage(usage("wamid.late1", at="2026-10-31T23:00:00Z"), usage("wamid.late2", at="2026-10-30T23:00:00Z"),
                      usage("wamid.nov", at="2026-11-02T00:00:00Z"), usage("wamid.sep", at="2026-09-30T00:00:00Z"))
    [nov] = [c for c in (await world.close("2026-11")).closed if isinstance(c, BalanceClosing)]
    assert nov.usage_lines == [
        UsageLine(channel_id="acmeCH0001", client_id="bobCL", category="marketing", usage_month="2026-09",
                  quantity=1, amount=D("0.1131")),
        UsageLine(channel_id="acmeCH0001", client_id="bobCL", category="marketing", usage_month="2026-10",
                  quantity=2, amount=D("0.2262")),
        UsageLine(channel_id="acmeCH0001", client_id="bobCL", category="marketing", usage_month="2026-11",
                  quantity=1, amount=D("0.1131"))]
    assert nov.usage == D("0.4524")
    assert nov.usage == sum((line.amount for line in nov.usage_lines), D(0))


async def test_each_direct_paid_channel_closes_its_own_balance(world):
    """globexCH0007 and globexCH0008: one closing each, named by the channel, with its client."""
    await world.payments(payment("pay_1", GLOBEX7, "10.00", "USD", method="card"))
    await world.usage(usage("wamid.1", "globexCH0007", "0.1365"), usage("wamid.2", "globexCH0008", "0.0714"))
    closings = [c for c in (await world.close("2026-10")).closed if isinstance(c, BalanceClosing)]
    assert [(c.balance, c.client_id, c.billing_model, c.currency, c.added_funds, c.usage, c.ending_balance)
            for c in closings] == [
        (Account(channel_id="globexCH0007"), "initechCL", "direct_paid", "USD", D("10.00"), D("0.1365"),
         D("9.8635")),
        (Account(channel_id="globexCH0008"), "hooliCL", "direct_paid", "USD", D("0"), D("0.0714"), D("-0.0714"))]
    assert [line.channel_id for c in closings for line in c.usage_lines] == ["globexCH0007", "globexCH0008"]


async def test_a_redelivered_batch_of_a_payment_and_its_refund_moves_nothing_and_refuses_nothing(world):
    """After a crash between the commit and the offsets, [pay 50, refund 50] comes again: both are
    recognised as already applied, so the refund is not judged against a balance it already reduced."""
    batch = [payment("pay_9", amount="50.00"), refund("ref_9", amount="50.00")]
    first = await world.payments(*batch)
    again = await world.payments(*batch)
    assert first.refused == again.refused == [] and again.records == []
    assert world.amount("acmePA") == D("0.00")
