"""In-memory fakes of the usage ingest ports, with the PostgreSQL adapter's semantics.

`FakeUsageStore` keeps every table of `migrations/0002_usage.sql` as plain
Python containers and implements every method of `ports.UsageStore` the way
`adapters/postgres.py` does. `FakeUnitOfWork` wraps it in "transactions": a
block that raises leaves the store exactly as it found it. `Feed` turns the
dicts of `tests/builders.py` into the `Accepted` batches the use cases take.
"""

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any


from shared.contracts import (ChannelAdded, ChannelCancelled, ClientUpserted, LightPricedUsage, PartnerUpserted,
                              PricedUsage, RateCard, UsageDay, encode)
from shared.dead_letters import Accepted
from shared.topics import MESSAGE_STATUS, RATECARDS

from services.usage_ingest.domain.accounts import ChannelAccount, KnownPartner
from services.usage_ingest.domain.charging import MessageState
from services.usage_ingest.domain.days import DayDelta, usage_day
from services.usage_ingest.domain.pricing import RateBook
from services.usage_ingest.domain.tiers import TierKey
from services.usage_ingest.ports import Hold, RecordRef, Tally
from tests.unit.fakes import Feed as _Feed
from tests.unit.fakes import FakeStore, StoreFailure
from tests.unit.fakes import FakeUnitOfWork as _FakeUnitOfWork

RecordKey = tuple[str, int, int]  # (topic, partition, offset)


@dataclass
class PartnerRow:
    partner_id: str
    billing_model: str
    currency: str
    name: str


@dataclass
class ClientRow:
    client_id: str
    partner_id: str
    name: str
    business_portfolio_id: str | None = None


@dataclass
class ChannelRow:
    channel_id: str
    client_id: str
    partner_id: str
    billing_started_at: datetime
    cancelled_at: datetime | None = None


@dataclass
class RateCardRow:
    card: RateCard
    version: int


@dataclass
class HeldRecord:
    ref: RecordRef
    reason: str
    detail: str
    held_at: datetime


@dataclass(frozen=True)
class LateDeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    code: str
    reason: str



_STATE = ("messages", "partners", "clients", "channels", "ratecards", "ratecard_seq", "conversations",
          "held", "late_dead_letters", "tally", "outbox", "usage_days", "day_records", "tier_counts")


class FakeUsageStore(FakeStore):
    """Every table of the usage ingest schema, in memory; the PostgreSQL adapter's semantics."""

    STATE = _STATE

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, MessageState] = {}
        self.partners: dict[str, PartnerRow] = {}
        self.clients: dict[str, ClientRow] = {}
        self.channels: dict[str, ChannelRow] = {}
        self.ratecards: dict[tuple[str, date], RateCardRow] = {}  # (currency, effective_from) → card
        self.ratecard_seq = 0
        self.conversations: dict[str, str] = {}  # conversation id → the message that claimed it
        self.held: dict[RecordKey, HeldRecord] = {}
        self.late_dead_letters: dict[RecordKey, LateDeadLetter] = {}
        self.tally: Counter[Tally] = Counter()
        self.outbox: list[PricedUsage] = []
        # (channel, day, category) → [charged, free, amount, version], and the records queued for the portal.
        self.usage_days: dict[tuple[str, date, str], list[Any]] = {}
        self.day_records: list[UsageDay] = []
        self.tier_counts: Counter[TierKey] = Counter()


    # -- messages ----------------------------------------------------------------------------

    async def lock_messages(self, keys: Collection[tuple[str, str]]) -> dict[str, MessageState]:
        self._call("lock_messages")
        for message_id, channel_id in sorted(keys):
            # INSERT … ON CONFLICT DO NOTHING: a known message keeps its channel.
            self.messages.setdefault(message_id, MessageState(message_id, channel_id))
        return {m: self.messages[m] for m, _ in sorted(keys)}

    async def save_messages(self, states: Sequence[MessageState]) -> None:
        self._call("save_messages")
        for s in states:
            old = self.messages.get(s.message_id)
            if old is not None:  # UPDATE: only existing rows, and never their channel
                self.messages[s.message_id] = replace(s, channel_id=old.channel_id)

    # -- directory ---------------------------------------------------------------------------

    async def channel_accounts(self, channel_ids: Collection[str]) -> dict[str, ChannelAccount]:
        self._call("channel_accounts")
        out: dict[str, ChannelAccount] = {}
        for channel_id in channel_ids:
            c = self.channels.get(channel_id)
            p = self.partners.get(c.partner_id) if c else None
            if c is not None and p is not None:  # channels JOIN partners LEFT JOIN clients
                cl = self.clients.get(c.client_id)
                out[channel_id] = ChannelAccount(c.channel_id, c.client_id, c.partner_id,
                                                 p.billing_model, p.currency,
                                                 cl.business_portfolio_id if cl else None)
        return out

    async def partner(self, partner_id: str) -> KnownPartner | None:
        self._call("partner")
        p = self.partners.get(partner_id)
        return KnownPartner(p.billing_model, p.currency) if p else None

    async def upsert_partner(self, event: PartnerUpserted) -> None:
        self._call("upsert_partner")
        p = self.partners.get(event.partner_id)
        if p is None:
            self.partners[event.partner_id] = PartnerRow(event.partner_id, event.billing_model,
                                                         event.currency, event.name)
        else:  # ON CONFLICT DO UPDATE SET name: model and currency are never changed
            p.name = event.name

    async def upsert_client(self, event: ClientUpserted) -> None:
        self._call("upsert_client")
        self.clients[event.client_id] = ClientRow(event.client_id, event.partner_id, event.name,
                                                  event.business_portfolio_id)

    async def upsert_channel(self, event: ChannelAdded) -> None:
        self._call("upsert_channel")
        old = self.channels.get(event.channel_id)
        self.channels[event.channel_id] = ChannelRow(event.channel_id, event.client_id, event.partner_id,
                                                     event.billing_started_at,
                                                     old.cancelled_at if old else None)

    async def cancel_channel(self, event: ChannelCancelled) -> None:
        self._call("cancel_channel")
        c = self.channels.get(event.channel_id)
        if c is not None:
            c.cancelled_at = event.cancelled_at

    # -- rate cards --------------------------------------------------------------------------

    async def ratebook(self) -> RateBook:
        self._call("ratebook")
        return RateBook(row.card for row in self.ratecards.values())

    async def ratebook_version(self) -> int | None:
        self._call("ratebook_version")
        return max((row.version for row in self.ratecards.values()), default=None)

    async def upsert_ratecard(self, card: RateCard) -> None:
        self._call("upsert_ratecard")
        key = (card.currency, card.effective_from)
        # A card republished under its id (for another day) replaces the old one.
        for k in [k for k, row in self.ratecards.items() if row.card.ratecard_id == card.ratecard_id and k != key]:
            del self.ratecards[k]
        self.ratecard_seq += 1
        self.ratecards[key] = RateCardRow(card, self.ratecard_seq)

    # -- conversations, outbox, tally --------------------------------------------------------

    async def claim_conversations(self, claims: Sequence[tuple[str, str]]) -> set[str]:
        self._call("claim_conversations")
        for conversation_id, message_id in claims:  # INSERT in order, ON CONFLICT DO NOTHING
            self.conversations.setdefault(conversation_id, message_id)
        # The owners, not only this call's winners.
        return {self.conversations[c] for c, _ in claims}

    async def advance_tiers(self, increments: Mapping[TierKey, int]) -> dict[TierKey, int]:
        self._call("advance_tiers")
        before = {k: self.tier_counts[k] for k in increments}
        self.tier_counts.update(increments)
        return before

    async def emit(self, usage: Sequence[LightPricedUsage]) -> None:
        self._call("emit")
        # Through the wire, as balance reads it: what usage ingest builds without validation must be a record
        # the contract's model accepts.
        self.outbox.extend(PricedUsage.model_validate_json(encode(u)) for u in usage)

    async def count(self, tallies: Sequence[Tally]) -> None:
        self._call("count")
        self.tally.update(tallies)

    async def add_usage_days(self, days: Sequence[DayDelta]) -> None:
        self._call("add_usage_days")
        for d in days:  # INSERT … ON CONFLICT DO UPDATE: add, and count one more version
            row = self.usage_days.get((d.account.channel_id, d.day, d.category))
            if row is None:
                row = self.usage_days[(d.account.channel_id, d.day, d.category)] = [0, 0, Decimal(0), 0]
            row[0] += d.charged
            row[1] += d.free
            row[2] += d.amount
            row[3] += 1
            # Through the wire, as the portal reads it: the record must be one the contract's model accepts.
            self.day_records.append(UsageDay.model_validate_json(encode(usage_day(d.account, d.day, d.category, *row))))

    # -- holds -------------------------------------------------------------------------------

    async def hold(self, holds: Sequence[Hold], at: datetime) -> None:
        self._call("hold")
        keys = [(h.ref.topic, h.ref.partition, h.ref.offset) for h in holds]
        if len(set(keys)) != len(keys):
            # PostgreSQL: "ON CONFLICT DO UPDATE command cannot affect row a second time".
            raise StoreFailure("hold: the same record twice in one statement")
        for key, h in zip(keys, holds, strict=True):
            old = self.held.get(key)
            if old is None:
                self.held[key] = HeldRecord(h.ref, h.reason, h.detail, at)
            else:  # keeps its first hold time, takes the new reason
                old.reason, old.detail = h.reason, h.detail

    async def held_for_channels(self, channel_ids: Collection[str]) -> list[tuple[str, str]]:
        self._call("held_for_channels")
        wanted = set(channel_ids)
        return sorted({(h.ref.message_id, h.ref.channel_id) for h in self.held.values()
                       if h.reason == "unknown_channel" and h.ref.channel_id in wanted})

    async def held_for_rates(self, limit: int) -> list[tuple[str, str]]:
        self._call("held_for_rates")
        return sorted({(h.ref.message_id, h.ref.channel_id) for h in self.held.values()
                       if h.reason == "no_rate"})[:limit]

    async def mark_no_rate(self, details: dict[str, str]) -> None:
        self._call("mark_no_rate")
        for h in self.held.values():
            if h.ref.message_id in details:
                h.reason, h.detail = "no_rate", details[h.ref.message_id]

    async def release(self, message_ids: Collection[str]) -> list[RecordRef]:
        self._call("release")
        ids = set(message_ids)
        gone = [k for k, h in self.held.items() if h.ref.message_id in ids]
        return [self.held.pop(k).ref for k in gone]

    async def expired_holds(self, held_before: datetime, limit: int) -> list[Hold]:
        self._call("expired_holds")
        old = sorted((h for h in self.held.values() if h.held_at < held_before),
                     key=lambda h: (h.held_at, h.ref.topic, h.ref.partition, h.ref.offset))
        return [Hold(h.ref, h.reason, h.detail) for h in old[:limit]]

    async def known_channels_with_holds(self, limit: int, partner_ids: Collection[str] | None = None) -> list[str]:
        self._call("known_channels_with_holds")
        out: set[str] = set()
        for h in self.held.values():
            c = self.channels.get(h.ref.channel_id)
            if (h.reason == "unknown_channel" and c is not None and c.partner_id in self.partners
                    and (partner_ids is None or c.partner_id in partner_ids)):
                out.add(c.channel_id)
        return sorted(out)[:limit]

    async def dead_letter_later(self, refs: Sequence[RecordRef], code: str, reason: str) -> None:
        self._call("dead_letter_later")
        for r in refs:  # ON CONFLICT DO NOTHING
            self.late_dead_letters.setdefault((r.topic, r.partition, r.offset),
                                              LateDeadLetter(r.topic, r.partition, r.offset, r.key,
                                                             str(code), reason))

    # -- reading helpers for tests -----------------------------------------------------------

    def held_reasons(self) -> dict[int, str]:
        """Offset → reason of every held record (the tests use one partition)."""
        return {off: h.reason for (_, _, off), h in sorted(self.held.items())}

    def outcomes(self) -> dict[str, str]:
        return {m: s.outcome.value for m, s in sorted(self.messages.items())}


class FakeUnitOfWork(_FakeUnitOfWork[FakeUsageStore]):
    """A `ports.UnitOfWork` over one FakeUsageStore: commit on normal exit, roll back on an exception."""

    def __init__(self, store: FakeUsageStore | None = None) -> None:
        super().__init__(store or FakeUsageStore())


class Feed(_Feed):
    """Batches of this service's inputs."""

    def statuses(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(MESSAGE_STATUS.name, b["channel_id"], b) for b in bodies]

    def ratecards(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(RATECARDS.name, b["currency"], b) for b in bodies]
