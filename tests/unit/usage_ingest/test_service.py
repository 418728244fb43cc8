"""The §4.1 charging rules through the usage ingest use cases, on the in-memory store.

Each test publishes directory events, rate cards and statuses as `Accepted`
batches (as the consumer hands them over) and looks at what the transactions
left behind: priced usage in the outbox, tallies, holds and late dead letters.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import permutations
from typing import Any

import pytest

from services.usage_ingest import service
from services.usage_ingest.domain.accounts import ChannelAccount
from services.usage_ingest.domain.participants import ParticipantKeys
from services.usage_ingest.ports import Tally
from shared.contracts import Account, ErrorCode, PricedUsage, encode
from shared.dead_letters import Accepted, Rejected
from shared.topics import DIRECTORY, MESSAGE_STATUS
from tests.builders import (DE_NUMBER, EUR_CARD, US_NUMBER, AT_NUMBER, FR_NUMBER, USD_CARD, channel, client,
                            partner, pricing, ratecard, status)

from .fakes import ChannelRow, FakeUnitOfWork, FakeUsageStore, Feed, LateDeadLetter, StoreFailure

NOW = datetime(2026, 10, 20, 10, 16, 0, tzinfo=UTC)
HOLD_S = 3600.0
ACME = ChannelAccount("acmeCH0001", "bobCL", "acmePA", "partner_paid", "EUR")
GLOBEX = ChannelAccount("globexCH0007", "initechCL", "globexPA", "direct_paid", "USD")
REGULAR = pricing("marketing")
KEYS = ParticipantKeys(b"test-participant-key")


@dataclass
class World:
    """One usage ingest instance with its store, and the records it has consumed so far."""

    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    feed: Feed = field(default_factory=Feed)
    rates_seen: int | None = None  # as the app's sweeper remembers it between sweeps

    @property
    def store(self) -> FakeUsageStore:
        return self.uow.store

    async def statuses(self, *bodies: dict[str, Any], now: datetime = NOW) -> list[Accepted]:
        batch = self.feed.statuses(*bodies)
        assert await service.ingest_statuses(self.uow, batch, now, KEYS) == []
        return batch

    async def directory(self, *bodies: dict[str, Any]) -> list[Rejected]:
        return await service.apply_directory(self.uow, self.feed.directory(*bodies))

    async def ratecards(self, *bodies: dict[str, Any]) -> None:
        assert await service.apply_ratecards(self.uow, self.feed.ratecards(*bodies)) == []

    async def sweep(self, now: datetime) -> service.SweepReport:
        report = await service.sweep(self.uow, now, HOLD_S, self.rates_seen)
        self.rates_seen = report.rates_version
        return report

    def charged(self) -> dict[str, PricedUsage]:
        """The outbox by usage id; fails if any message was emitted twice."""
        ids = Counter(u.usage_id for u in self.store.outbox)
        assert all(n == 1 for n in ids.values()), f"charged more than once: {ids}"
        return {u.usage_id: u for u in self.store.outbox}


@pytest.fixture
async def world() -> World:
    return await new_world()


async def new_world() -> World:
    """A store with the EUR and USD cards, Partner-Paid acmePA (EUR) and Direct-Paid globexPA (USD)."""
    w = World()
    await w.ratecards(EUR_CARD, USD_CARD)
    assert await w.directory(
        partner("acmePA"), client("bobCL", "acmePA"), channel("acmeCH0001", "bobCL", "acmePA"),
        partner("globexPA", "direct_paid", "USD"), client("initechCL", "globexPA"),
        channel("globexCH0007", "initechCL", "globexPA")) == []
    return w


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def priced(usage_id: str, account: ChannelAccount, at: str, usage_month: str, rate: str, market: str,
           country: str | None, ratecard_id: str, category: str = "marketing", pricing_model: str = "PMP",
           conversation_id: str | None = None) -> PricedUsage:
    """The one PricedUsage a charged message must produce, every field spelled out."""
    return PricedUsage(
        usage_id=usage_id, balance=account.balance, partner_id=account.partner_id, client_id=account.client_id,
        channel_id=account.channel_id, billing_model=account.billing_model, currency=account.currency,
        category=category, pricing_model=pricing_model, conversation_id=conversation_id, country=country,
        market=market, ratecard_id=ratecard_id, rate=Decimal(rate), amount=Decimal(rate), billed_at=utc(at),
        usage_month=usage_month)


def acme_de(usage_id: str, at: str = "2026-10-20T10:15:01Z", **kw: Any) -> PricedUsage:
    """A marketing message of acmeCH0001 to a German number in October: 0.1131 EUR."""
    return priced(usage_id, ACME, at, "2026-10", "0.1131", "Germany", "DE", "test-2026-10-EUR", **kw)


def tally(channel_id: str = "acmeCH0001", month: str = "2026-10", category: str = "marketing",
          charged: bool = True) -> Tally:
    return Tally(channel_id, month, category, charged)


# --- charged once, on delivery evidence and pricing ----------------------------------------------


async def test_a_delivered_priced_message_is_charged_with_every_field_of_its_priced_usage(world):
    """Sent then delivered: one PricedUsage with the partner's balance, the exact rate, month, market and card."""
    await world.statuses(status("wamid.A", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=REGULAR))
    assert world.store.outbox == []
    await world.statuses(status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    assert world.store.outbox == [acme_de("wamid.A")]
    [usage] = world.store.outbox
    assert usage.balance == Account(partner_id="acmePA")
    assert usage.amount == Decimal("0.1131")
    assert world.store.tally == Counter({tally(): 1})
    assert world.store.outcomes() == {"wamid.A": "charged"}
    assert world.store.held == {}


async def test_duplicate_statuses_charge_once_in_one_batch_across_batches_and_on_redelivery(world):
    """The same status many times, in one batch or several, or a whole batch redelivered: one charge."""
    d = status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR)
    r = status("wamid.A", "acmeCH0001", "read", "2026-10-20T10:15:09Z", price=REGULAR)
    batch = await world.statuses(d, d, r, d)
    await world.statuses(d, r)
    assert await service.ingest_statuses(world.uow, batch, NOW, KEYS) == []  # the first batch redelivered
    assert world.charged() == {"wamid.A": acme_de("wamid.A")}
    assert world.store.tally == Counter({tally(): 1})
    # A redelivered status of a known channel is not held as if its channel were unknown.
    assert world.store.held == {}


async def test_every_arrival_order_of_sent_delivered_and_read_charges_once_at_the_first_delivery_in_hand(world):
    """Statuses in any order, each in its own batch: charged once, billed at the delivery evidence in hand."""
    times = {"sent": "2026-10-20T10:15:00Z", "delivered": "2026-10-20T10:15:01Z", "read": "2026-10-20T10:15:02Z"}
    expected: dict[str, PricedUsage] = {}
    for n, order in enumerate(permutations(times)):
        message_id = f"wamid.P{n}"
        for state in order:
            await world.statuses(status(message_id, "acmeCH0001", state, times[state], price=REGULAR))
        first_evidence = next(s for s in order if s != "sent")
        expected[message_id] = acme_de(message_id, at=times[first_evidence])
    assert world.charged() == expected
    assert world.store.tally == Counter({tally(): 6})


async def test_every_order_of_statuses_all_in_one_batch_bills_at_the_earliest_delivery_evidence(world):
    """All statuses in one batch: the earliest of delivered/read is the billing time, in every order."""
    times = {"sent": "2026-10-20T10:15:00Z", "delivered": "2026-10-20T10:15:07Z", "read": "2026-10-20T10:15:03Z"}
    expected = {}
    for n, order in enumerate(permutations(times)):
        message_id = f"wamid.B{n}"
        await world.statuses(*(status(message_id, "acmeCH0001", s, times[s], price=REGULAR) for s in order))
        expected[message_id] = acme_de(message_id, at="2026-10-20T10:15:03Z")
    assert world.charged() == expected


async def test_pricing_only_on_sent_prices_a_delivery_that_carries_none_in_every_order(world):
    """Pricing is known from any status: sent's pricing prices the message whatever arrives first."""
    times = {"sent": "2026-10-20T10:15:00Z", "delivered": "2026-10-20T10:15:01Z", "read": "2026-10-20T10:15:02Z"}
    expected = {}
    for n, order in enumerate(permutations(times)):
        message_id = f"wamid.S{n}"
        for state in order:
            await world.statuses(status(message_id, "acmeCH0001", state, times[state],
                                        price=pricing("utility") if state == "sent" else None))
        # Charged as soon as pricing and delivery evidence are both in hand, at the earliest evidence then.
        in_hand = order[:order.index("sent") + 1] if order.index("sent") > 0 else order[:2]
        billed = min(times[s] for s in in_hand if s != "sent")
        expected[message_id] = priced(message_id, ACME, billed, "2026-10", "0.0456", "Germany", "DE",
                                      "test-2026-10-EUR", category="utility")
    assert world.charged() == expected


async def test_pricing_only_on_delivered_is_charged(world):
    """A sent status without pricing, then a priced delivery: charged at the delivery's rate."""
    await world.statuses(status("wamid.A", "acmeCH0001", "sent", "2026-10-20T10:15:00Z"),
                         status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    assert world.charged() == {"wamid.A": acme_de("wamid.A")}


async def test_pricing_on_both_sent_and_delivered_is_charged_at_the_deliverys_pricing(world):
    """Sent says utility, delivered says marketing: the delivery's verdict is charged, in either order."""
    sent = status("wamid.A", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=pricing("utility"))
    delivered = status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR)
    await world.statuses(sent, delivered)
    await world.statuses({**delivered, "status": {**delivered["status"], "id": "wamid.B"}},
                         {**sent, "status": {**sent["status"], "id": "wamid.B"}})
    assert world.charged() == {"wamid.A": acme_de("wamid.A"), "wamid.B": acme_de("wamid.B")}


async def test_a_message_that_only_reports_sent_is_never_charged_nor_held(world):
    """No delivery evidence, no charge; nothing to hold for a known channel either."""
    await world.statuses(status("wamid.A", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=REGULAR))
    await world.statuses(status("wamid.A", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=REGULAR))
    await world.sweep(NOW + timedelta(days=2))
    assert world.store.outbox == []
    assert world.store.tally == Counter()
    assert world.store.held == {} and world.store.late_dead_letters == {}
    assert world.store.outcomes() == {"wamid.A": "pending"}


async def test_a_failed_message_is_never_charged_even_if_a_delivery_arrives_later(world):
    """Failed first, then delivered and read (alone or together): never charged, not counted."""
    await world.statuses(status("wamid.A", "acmeCH0001", "failed", "2026-10-20T10:15:00Z", price=REGULAR))
    await world.statuses(status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR),
                         status("wamid.A", "acmeCH0001", "read", "2026-10-20T10:15:02Z", price=REGULAR))
    await world.statuses(status("wamid.B", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR),
                         status("wamid.B", "acmeCH0001", "failed", "2026-10-20T10:15:02Z", price=REGULAR))
    assert world.store.outbox == []
    assert world.store.tally == Counter()
    assert world.store.outcomes() == {"wamid.A": "failed", "wamid.B": "failed"}


# --- free messages --------------------------------------------------------------------------------


@pytest.mark.parametrize(("type_", "billable", "category"), [
    ("free_customer_service", True, "service"),
    ("free_entry_point", True, "marketing"),
    ("free_group_customer_service", True, "service"),
    (None, False, "utility"),
])
async def test_a_free_message_is_counted_but_never_charged(world, type_, billable, category):
    """Free types, and billable false without a type: tallied as not charged, nothing emitted, no rate needed."""
    free = pricing(category, type_=type_, billable=billable)
    await world.statuses(status("wamid.F", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=free),
                         status("wamid.F", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=free))
    await world.statuses(status("wamid.F", "acmeCH0001", "read", "2026-10-20T10:15:02Z", price=free))
    assert world.store.outbox == []
    assert world.store.tally == Counter({tally(category=category, charged=False): 1})
    assert world.store.outcomes() == {"wamid.F": "free"}
    assert world.store.held == {}


# --- CBP: one charge per conversation -------------------------------------------------------------


def cbp(message_id: str, at: str, conversation: str, channel_id: str = "acmeCH0001",
        type_: str = "regular", category: str = "marketing") -> dict[str, Any]:
    return status(message_id, channel_id, "delivered", at, price=pricing(category, type_=type_, model="CBP"),
                  conversation=conversation)


async def test_cbp_charges_the_earliest_delivered_message_of_a_conversation_and_the_others_are_free(world):
    """Three messages of one conversation in one batch: the earliest delivered is charged, two are free."""
    await world.statuses(cbp("wamid.C3", "2026-10-20T10:15:03Z", "conv-1"),
                         cbp("wamid.C1", "2026-10-20T10:15:01Z", "conv-1"),
                         cbp("wamid.C2", "2026-10-20T10:15:02Z", "conv-1"))
    assert world.charged() == {"wamid.C1": acme_de("wamid.C1", at="2026-10-20T10:15:01Z", pricing_model="CBP",
                                                   conversation_id="conv-1")}
    assert world.store.outcomes() == {"wamid.C1": "charged", "wamid.C2": "free", "wamid.C3": "free"}
    assert world.store.tally == Counter({tally(): 1, tally(charged=False): 2})


async def test_cbp_across_two_batches_charges_the_conversation_once(world):
    """A conversation charged in one batch stays charged: its later messages are free; another is charged."""
    await world.statuses(cbp("wamid.C1", "2026-10-20T10:15:01Z", "conv-1"))
    await world.statuses(cbp("wamid.C2", "2026-10-20T10:15:02Z", "conv-1"),
                         cbp("wamid.C3", "2026-10-20T10:15:03Z", "conv-1"),
                         cbp("wamid.D1", "2026-10-20T10:15:04Z", "conv-2"))
    assert world.charged() == {
        "wamid.C1": acme_de("wamid.C1", at="2026-10-20T10:15:01Z", pricing_model="CBP", conversation_id="conv-1"),
        "wamid.D1": acme_de("wamid.D1", at="2026-10-20T10:15:04Z", pricing_model="CBP", conversation_id="conv-2"),
    }
    assert world.store.outcomes() == {"wamid.C1": "charged", "wamid.C2": "free", "wamid.C3": "free",
                                      "wamid.D1": "charged"}
    assert world.store.tally == Counter({tally(): 2, tally(charged=False): 2})


async def test_a_free_cbp_message_does_not_use_up_its_conversations_charge(world):
    """Only a charged message claims a conversation: a free one before it does not make it free."""
    await world.statuses(cbp("wamid.F", "2026-10-20T10:15:01Z", "conv-1", type_="free_entry_point"),
                         cbp("wamid.R", "2026-10-20T10:15:02Z", "conv-1"))
    assert world.charged() == {"wamid.R": acme_de("wamid.R", at="2026-10-20T10:15:02Z", pricing_model="CBP",
                                                  conversation_id="conv-1")}


async def test_a_cbp_message_without_a_rate_does_not_use_up_its_conversations_charge(world):
    """The first message of a conversation has no rate: the next one, which has, is the one charged."""
    await world.statuses(cbp("wamid.N", "2026-10-20T10:15:01Z", "conv-1", category="marketing_lite"),
                         cbp("wamid.R", "2026-10-20T10:15:02Z", "conv-1"))
    assert world.charged() == {"wamid.R": acme_de("wamid.R", at="2026-10-20T10:15:02Z", pricing_model="CBP",
                                                  conversation_id="conv-1")}
    assert world.store.outcomes()["wamid.N"] == "pending"


# --- billing time, month and balance --------------------------------------------------------------


async def test_the_usage_month_is_the_utc_month_of_the_delivery_at_the_second(world):
    """23:59:59 UTC on 31 October bills October; 00:00:00 UTC on 1 November bills November."""
    await world.statuses(
        status("wamid.OCT", "acmeCH0001", "delivered", "2026-10-31T23:59:59Z", price=REGULAR),
        status("wamid.NOV", "acmeCH0001", "delivered", "2026-11-01T00:00:00Z", price=REGULAR),
        now=datetime(2026, 11, 1, 0, 0, 5, tzinfo=UTC))
    charged = world.charged()
    assert charged["wamid.OCT"].usage_month == "2026-10"
    assert charged["wamid.NOV"].usage_month == "2026-11"
    assert charged == {"wamid.OCT": acme_de("wamid.OCT", at="2026-10-31T23:59:59Z"),
                       "wamid.NOV": priced("wamid.NOV", ACME, "2026-11-01T00:00:00Z", "2026-11", "0.1131",
                                           "Germany", "DE", "test-2026-10-EUR")}
    assert world.store.tally == Counter({tally(month="2026-10"): 1, tally(month="2026-11"): 1})


async def test_a_new_rate_card_prices_messages_delivered_from_its_first_day(world):
    """A November card: 31 October 23:59:59 keeps October's rate, 1 November 00:00:00 takes November's."""
    await world.ratecards(ratecard("test-2026-11-EUR", "EUR", "2026-11-01", {("Germany", "marketing"): "0.1250"}))
    await world.statuses(status("wamid.OCT", "acmeCH0001", "delivered", "2026-10-31T23:59:59Z", price=REGULAR),
                         status("wamid.NOV", "acmeCH0001", "delivered", "2026-11-01T00:00:00Z", price=REGULAR))
    assert world.charged() == {
        "wamid.OCT": acme_de("wamid.OCT", at="2026-10-31T23:59:59Z"),
        "wamid.NOV": priced("wamid.NOV", ACME, "2026-11-01T00:00:00Z", "2026-11", "0.1250", "Germany", "DE",
                            "test-2026-11-EUR"),
    }


async def test_partner_paid_usage_debits_the_partner_and_direct_paid_usage_the_channel(world):
    """acmePA (Partner-Paid, EUR) is debited as the partner; globexPA's channel (Direct-Paid, USD) as itself."""
    await world.statuses(
        status("wamid.PP", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR),
        status("wamid.DP", "globexCH0007", "delivered", "2026-10-20T10:15:02Z", recipient=US_NUMBER, price=REGULAR),
        status("wamid.AT", "globexCH0007", "delivered", "2026-10-20T10:15:03Z", recipient=AT_NUMBER, price=REGULAR))
    charged = world.charged()
    assert charged["wamid.PP"].balance == Account(partner_id="acmePA")
    assert charged["wamid.DP"].balance == Account(channel_id="globexCH0007")
    assert charged == {
        "wamid.PP": acme_de("wamid.PP"),
        "wamid.DP": priced("wamid.DP", GLOBEX, "2026-10-20T10:15:02Z", "2026-10", "0.0730", "Other", "US",
                           "test-2026-10-USD"),
        "wamid.AT": priced("wamid.AT", GLOBEX, "2026-10-20T10:15:03Z", "2026-10", "0.0714",
                           "Rest of Western Europe", "AT", "test-2026-10-USD"),
    }
    assert world.store.tally == Counter({tally(): 1, tally("globexCH0007"): 2})


async def test_the_recipients_number_never_appears_in_priced_usage_nor_in_the_store(world):
    """The number is reduced to a country at once: no emitted JSON and no stored state carries it."""
    numbers = [DE_NUMBER, US_NUMBER, AT_NUMBER, FR_NUMBER]
    await world.statuses(*(status(f"wamid.N{i}", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z",
                                  recipient=n, price=REGULAR) for i, n in enumerate(numbers)),
                         status("wamid.G", "ghostCH0009", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    assert len(world.store.outbox) == len(numbers)
    for usage in world.store.outbox:
        text = encode(usage).decode()
        assert not any(n in text for n in numbers), text
        assert "recipient" not in text
    stored = repr(world.store.snapshot())
    assert not any(n in stored for n in numbers)
    assert [u.country for u in world.store.outbox] == ["DE", "US", "AT", "FR"]


# --- unknown channels: held, settled when known, dead-lettered after the hold time ----------------


async def test_a_status_of_an_unknown_channel_is_held_and_charged_once_the_channel_is_added(world):
    """Unknown channel: nothing charged, every record held; channel.added charges it and frees the records."""
    await world.statuses(status("wamid.U", "acmeCH0002", "sent", "2026-10-20T10:15:00Z", price=REGULAR),
                         status("wamid.U", "acmeCH0002", "delivered", "2026-10-20T10:15:01Z", price=REGULAR),
                         status("wamid.W", "acmeCH0002", "sent", "2026-10-20T10:15:00Z", price=REGULAR))
    assert world.store.outbox == [] and world.store.tally == Counter()
    assert world.store.held_reasons() == {0: "unknown_channel", 1: "unknown_channel", 2: "unknown_channel"}
    assert {h.held_at for h in world.store.held.values()} == {NOW}

    assert await world.directory(channel("acmeCH0002", "bobCL", "acmePA")) == []
    acme2 = ChannelAccount("acmeCH0002", "bobCL", "acmePA", "partner_paid", "EUR")
    assert world.charged() == {"wamid.U": priced("wamid.U", acme2, "2026-10-20T10:15:01Z", "2026-10", "0.1131",
                                                 "Germany", "DE", "test-2026-10-EUR")}
    # The message that was only sent needs no holding once its channel is known.
    assert world.store.held == {}
    assert world.store.tally == Counter({tally("acmeCH0002"): 1})

    await world.statuses(status("wamid.W", "acmeCH0002", "delivered", "2026-10-20T10:15:05Z", price=REGULAR))
    assert set(world.charged()) == {"wamid.U", "wamid.W"}
    report = await world.sweep(NOW + timedelta(days=1))
    assert (report.settled, report.expired) == (0, 0)
    assert world.store.late_dead_letters == {}


async def test_a_channel_whose_partner_is_not_known_yet_is_held_until_the_partner_arrives(world):
    """channel.added before its partner.upserted: the channel's usage waits for the partner, then is charged."""
    assert await world.directory(channel("newCH0001", "newCL", "newPA")) == []
    await world.statuses(status("wamid.N", "newCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    assert world.store.outbox == []
    assert world.store.held_reasons() == {0: "unknown_channel"}
    assert await world.directory(partner("newPA", "direct_paid", "EUR")) == []
    new = ChannelAccount("newCH0001", "newCL", "newPA", "direct_paid", "EUR")
    assert world.charged() == {"wamid.N": priced("wamid.N", new, "2026-10-20T10:15:01Z", "2026-10", "0.1131",
                                                 "Germany", "DE", "test-2026-10-EUR")}
    assert world.store.held == {}


async def test_the_sweep_settles_held_statuses_of_a_channel_that_became_known_elsewhere(world):
    """A channel known to the store (another instance's directory batch) is settled by the next sweep."""
    await world.statuses(status("wamid.U", "acmeCH0002", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    world.store.channels["acmeCH0002"] = ChannelRow("acmeCH0002", "bobCL", "acmePA", utc("2026-10-01T00:00:00Z"))
    report = await world.sweep(NOW + timedelta(minutes=1))
    assert (report.settled, report.expired) == (1, 0)
    assert [u.usage_id for u in world.store.outbox] == ["wamid.U"]
    assert world.store.held == {}


async def test_a_channel_still_unknown_after_the_hold_time_dead_letters_each_of_its_held_records(world):
    """Every held record of the unknown channel is queued as a late unknown_channel dead letter, none charged."""
    await world.statuses(status("wamid.U", "ghostCH0009", "sent", "2026-10-20T10:15:00Z", price=REGULAR),
                         status("wamid.U", "ghostCH0009", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    await world.statuses(status("wamid.V", "ghostCH0009", "sent", "2026-10-20T10:20:00Z", price=REGULAR),
                         now=NOW + timedelta(minutes=30))
    report = await world.sweep(NOW + timedelta(seconds=HOLD_S))  # not older than the hold time yet
    assert (report.settled, report.expired) == (0, 0)
    assert world.store.held_reasons() == {0: "unknown_channel", 1: "unknown_channel", 2: "unknown_channel"}

    report = await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert report.expired == 2
    reason = "channel_id: ghostCH0009 is not in the directory (held 3600s)"
    assert world.store.late_dead_letters == {
        (MESSAGE_STATUS.name, 0, 0): LateDeadLetter(MESSAGE_STATUS.name, 0, 0, b"ghostCH0009", "unknown_channel",
                                                    reason),
        (MESSAGE_STATUS.name, 0, 1): LateDeadLetter(MESSAGE_STATUS.name, 0, 1, b"ghostCH0009", "unknown_channel",
                                                    reason),
    }
    assert world.store.held_reasons() == {2: "unknown_channel"}
    assert world.store.outcomes()["wamid.U"] == "unknown_channel"

    await world.sweep(NOW + timedelta(minutes=30, seconds=HOLD_S + 1))
    assert set(world.store.late_dead_letters) == {(MESSAGE_STATUS.name, 0, o) for o in (0, 1, 2)}
    assert world.store.late_dead_letters[(MESSAGE_STATUS.name, 0, 2)].code == ErrorCode.UNKNOWN_CHANNEL.value
    assert world.store.held == {} and world.store.outbox == [] and world.store.tally == Counter()


async def test_a_dead_lettered_unknown_channel_message_replayed_after_the_channel_is_added_is_charged(world):
    """Dead-lettered as unknown_channel is not final: the replayed status is charged once the channel exists."""
    delivered = status("wamid.U", "acmeCH0003", "delivered", "2026-10-20T10:15:01Z", price=REGULAR)
    await world.statuses(delivered)
    await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert world.store.outcomes() == {"wamid.U": "unknown_channel"}
    assert await world.directory(channel("acmeCH0003", "bobCL", "acmePA")) == []
    assert world.store.outbox == []
    await world.statuses(delivered, now=NOW + timedelta(hours=3))
    assert [u.usage_id for u in world.store.outbox] == ["wamid.U"]
    assert world.store.outcomes() == {"wamid.U": "charged"}


# --- no rate: held, charged when a rate card arrives, dead-lettered after the hold time -----------

NO_RATE_REASON = "no EUR rate for category marketing_lite to DE on 2026-10-20"


async def test_a_message_without_a_rate_is_held_as_no_rate_and_charged_when_a_rate_card_arrives(world):
    """No rate: held as no_rate; the sweep does not retry it while the rate cards are unchanged; the rate
    card that brings the rate charges it at once (before its offset is committed, for the month close)."""
    await world.sweep(NOW)  # the sweeper has seen the current rate cards
    lite = pricing("marketing_lite")
    await world.statuses(status("wamid.L", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=lite),
                         status("wamid.L", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=lite))
    assert world.store.outbox == [] and world.store.tally == Counter()
    # Every record of the message in hand is held (the sent one too), to be dead-lettered together.
    assert world.store.held_reasons() == {0: "no_rate", 1: "no_rate"}
    assert {h.detail for h in world.store.held.values()} == {NO_RATE_REASON}

    report = await world.sweep(NOW + timedelta(minutes=5))  # rate cards unchanged: not retried
    assert report.settled == 0 and world.store.outbox == []

    await world.ratecards(ratecard("test-2026-10-EUR-r2", "EUR", "2026-10-01", {
        ("Germany", "marketing"): "0.1131", ("Germany", "marketing_lite"): "0.0421"}))
    assert world.charged() == {"wamid.L": priced("wamid.L", ACME, "2026-10-20T10:15:01Z", "2026-10", "0.0421",
                                                 "Germany", "DE", "test-2026-10-EUR-r2", category="marketing_lite")}
    assert world.store.held == {}
    assert world.store.tally == Counter({tally(category="marketing_lite"): 1})
    report = await world.sweep(NOW + timedelta(minutes=10))
    assert report.settled == 0
    await world.sweep(NOW + timedelta(days=1))
    assert world.store.late_dead_letters == {} and len(world.store.outbox) == 1


async def test_a_message_still_without_a_rate_after_the_hold_time_is_dead_lettered_as_no_rate(world):
    """A rate card that still lacks the rate changes nothing; after the hold time: late no_rate dead letter."""
    lite = pricing("marketing_lite")
    await world.statuses(status("wamid.L", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=lite))
    await world.statuses(status("wamid.L", "acmeCH0001", "read", "2026-10-20T10:15:09Z", price=lite),
                         now=NOW + timedelta(minutes=20))
    await world.ratecards(ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {("Germany", "marketing"): "0.1131"}))
    report = await world.sweep(NOW + timedelta(minutes=30))
    assert (report.settled, report.expired) == (0, 0)
    assert world.store.held_reasons() == {0: "no_rate"}  # the read changed nothing: not held again

    report = await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert report.expired == 1
    assert world.store.late_dead_letters == {
        (MESSAGE_STATUS.name, 0, 0): LateDeadLetter(MESSAGE_STATUS.name, 0, 0, b"acmeCH0001", "no_rate",
                                                    f"{NO_RATE_REASON} (held 3600s)")}
    assert world.store.outcomes() == {"wamid.L": "no_rate"}
    assert world.store.held == {} and world.store.outbox == [] and world.store.tally == Counter()


async def test_a_record_held_for_an_unknown_channel_that_then_lacks_a_rate_keeps_its_first_hold_time(world):
    """The hold time counts from the first hold: a channel found late does not restart the clock."""
    lite = pricing("marketing_lite")
    await world.statuses(status("wamid.L", "acmeCH0002", "delivered", "2026-10-20T10:15:01Z", price=lite))
    assert await world.directory(channel("acmeCH0002", "bobCL", "acmePA")) == []
    [held] = world.store.held.values()
    assert (held.reason, held.held_at) == ("no_rate", NOW)
    await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert [d.code for d in world.store.late_dead_letters.values()] == ["no_rate"]


# --- the directory: billing model and currency are fixed ------------------------------------------


async def test_a_partner_upsert_that_changes_the_billing_model_is_rejected(world):
    """acmePA is Partner-Paid: a repeat as Direct-Paid goes to the DLQ as billing_model_change."""
    [rejected] = await world.directory(partner("acmePA", "direct_paid", "EUR"))
    assert rejected.code is ErrorCode.BILLING_MODEL_CHANGE
    assert (rejected.record.topic, rejected.record.key) == (DIRECTORY.name, b"acmePA")
    assert "partner_paid" in rejected.reason
    assert world.store.partners["acmePA"].billing_model == "partner_paid"
    await world.statuses(status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    assert world.store.outbox[0].balance == Account(partner_id="acmePA")


async def test_a_partner_upsert_that_changes_the_currency_is_rejected(world):
    """acmePA bills in EUR: a repeat in USD goes to the DLQ as currency_mismatch."""
    [rejected] = await world.directory(partner("acmePA", "partner_paid", "USD"))
    assert rejected.code is ErrorCode.CURRENCY_MISMATCH
    assert "EUR" in rejected.reason
    assert world.store.partners["acmePA"].currency == "EUR"


async def test_a_partner_upsert_that_changes_only_name_and_plan_is_accepted(world):
    """Names, address, plan and auto-renewal may change: nothing is rejected."""
    assert await world.directory(partner("acmePA", name="Acme Renamed", plan="premium",
                                         billing_address={"country": "AT", "vat_id": "ATU12345678"})) == []
    assert world.store.partners["acmePA"].name == "Acme Renamed"
    assert (world.store.partners["acmePA"].billing_model, world.store.partners["acmePA"].currency) == (
        "partner_paid", "EUR")


async def test_a_batch_that_creates_a_partner_and_then_changes_its_model_rejects_only_the_change(world):
    """Within one batch the first upsert fixes the model; the second, contradicting it, is rejected."""
    batch = world.feed.directory(partner("zetaPA", "direct_paid", "USD"), partner("zetaPA", "partner_paid", "USD"))
    rejected = await service.apply_directory(world.uow, batch)
    assert [(r.record.offset, r.code) for r in rejected] == [(batch[1].record.offset,
                                                              ErrorCode.BILLING_MODEL_CHANGE)]
    assert world.store.partners["zetaPA"].billing_model == "direct_paid"


# --- one transaction per batch --------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["save_messages", "claim_conversations", "emit", "count", "hold", "release"])
async def test_a_failing_store_rolls_the_whole_batch_back_and_the_redelivered_batch_charges_once(world, failing):
    """A failure anywhere in the batch leaves no trace (no state, no outbox); the batch redelivered charges once."""
    await world.statuses(status("wamid.U", "acmeCH0002", "sent", "2026-10-20T10:15:00Z", price=REGULAR))
    before = world.store.snapshot()
    committed = world.uow.committed
    batch = world.feed.statuses(
        cbp("wamid.C", "2026-10-20T10:15:01Z", "conv-1"),
        status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR),
        status("wamid.U", "acmeCH0002", "delivered", "2026-10-20T10:15:02Z", price=REGULAR))
    world.store.fail_on = failing
    with pytest.raises(StoreFailure):
        await service.ingest_statuses(world.uow, batch, NOW, KEYS)
    assert failing in world.store.calls
    assert world.store.snapshot() == before
    assert world.store.outbox == []
    assert (world.uow.committed, world.uow.rolled_back) == (committed, 1)

    world.store.fail_on = None
    assert await service.ingest_statuses(world.uow, batch, NOW, KEYS) == []
    assert world.charged() == {"wamid.A": acme_de("wamid.A"),
                               "wamid.C": acme_de("wamid.C", pricing_model="CBP", conversation_id="conv-1")}
    assert world.store.held_reasons() == {0: "unknown_channel", 3: "unknown_channel"}


async def test_a_failing_directory_batch_keeps_neither_its_accounts_nor_its_charges(world):
    """A directory batch that fails after the upserts leaves neither the channel nor a charge behind."""
    await world.statuses(status("wamid.U", "acmeCH0002", "delivered", "2026-10-20T10:15:01Z", price=REGULAR))
    before = world.store.snapshot()
    batch = world.feed.directory(partner("acmePA", name="Acme Renamed"), channel("acmeCH0002", "bobCL", "acmePA"))
    world.store.fail_on = "emit"
    with pytest.raises(StoreFailure):
        await service.apply_directory(world.uow, batch)
    assert world.store.snapshot() == before
    assert "acmeCH0002" not in world.store.channels and world.store.partners["acmePA"].name == "Partner acmePA"

    world.store.fail_on = None
    assert await service.apply_directory(world.uow, batch) == []
    assert [u.usage_id for u in world.store.outbox] == ["wamid.U"]
    assert world.store.held == {}


async def test_a_dead_lettered_no_rate_message_replayed_after_its_rate_card_is_published_is_charged(world):
    """Dead-lettered as no_rate is not final: replayed once the rate exists, it is charged, once."""
    delivered = status("wamid.L", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=pricing("marketing_lite"))
    await world.statuses(delivered)
    await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert world.store.outcomes() == {"wamid.L": "no_rate"}
    await world.ratecards(ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {
        ("Germany", "marketing"): "0.1131", ("Germany", "marketing_lite"): "0.0421"}))
    await world.statuses(delivered, now=NOW + timedelta(hours=3))
    await world.statuses(delivered, now=NOW + timedelta(hours=4))
    assert world.charged() == {"wamid.L": priced("wamid.L", ACME, "2026-10-20T10:15:01Z", "2026-10", "0.0421",
                                                 "Germany", "DE", "test-2026-10-EUR", category="marketing_lite")}
    assert world.store.held == {}


async def test_a_dead_lettered_message_replayed_while_still_unpriceable_is_held_again(world):
    """Replayed before the fix: held again from the replay's time, and dead-lettered again after the hold."""
    delivered = status("wamid.L", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=pricing("marketing_lite"))
    await world.statuses(delivered)
    await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    replayed_at = NOW + timedelta(hours=3)
    await world.statuses(delivered, now=replayed_at)
    assert world.store.held_reasons() == {1: "no_rate"}
    assert [h.held_at for h in world.store.held.values()] == [replayed_at]
    assert world.store.outbox == []


async def test_every_message_held_for_a_rate_is_retried_after_a_new_card_even_beyond_one_sweeps_page(world):
    """More no-rate holds than a sweep's limit: later sweeps keep retrying until all are charged, none expire."""
    await world.sweep(NOW)
    lite = pricing("marketing_lite")
    await world.statuses(*(status(f"wamid.L{i}", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=lite)
                           for i in range(3)))
    await world.ratecards(ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {("Germany", "marketing_lite"): "0.0421"}))
    seen = world.rates_seen
    for minute in range(1, 5):
        report = await service.sweep(world.uow, NOW + timedelta(minutes=minute), HOLD_S, seen, limit=1)
        seen = report.rates_version
    assert sorted(world.charged()) == ["wamid.L0", "wamid.L1", "wamid.L2"]
    assert {u.amount for u in world.store.outbox} == {Decimal("0.0421")}
    assert seen == await world.store.ratebook_version()
    await service.sweep(world.uow, NOW + timedelta(seconds=HOLD_S + 1), HOLD_S, seen, limit=1)
    assert world.store.held == {} and world.store.late_dead_letters == {}
