"""In-memory fakes of the balance service ports, with the PostgreSQL adapter's semantics.

`FakeBalanceStore` keeps every table of `migrations/0002_ledger.sql` (with the
credits of `0004_credits.sql`) and the outbox of `0001_outbox.sql` as plain
Python containers and implements every
method of `ports.BalanceStore` the way `adapters/postgres.py` does.
`FakeUnitOfWork` wraps it in "transactions": a block that raises leaves the
store exactly as it found it. `Feed` turns dicts into the `Accepted` batches
the use cases take, through the contract's own `decode`.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


from shared.contracts import (Account, BalanceClosing, ChannelAdded, ChannelCancelled, PartnerUpserted, PaymentLine,
                              TopupRequest, UsageLine)
from shared.dead_letters import Accepted
from shared.money import MICRO, plain
from shared.outbox import OutboxRecord
from shared.topics import BALANCE_CREDITS, PAYMENTS, TOPUP_REQUESTS, USAGE_PRICED

from shared.months import month_of
from services.balance.domain.crossings import Renewal
from services.balance.domain.ledger import BalanceState, Entry
from services.balance.ports import BalanceSpec, HeldPayment
from tests.unit.fakes import Feed as _Feed
from tests.unit.fakes import FakeStore, StoreFailure
from tests.unit.fakes import FakeUnitOfWork as _FakeUnitOfWork
from tests.unit.fakes import owner_of

RecordKey = tuple[str, int, int]  # (topic, partition, offset)

# numeric(20, 6): 14 digits before the point.
_NUMERIC_LIMIT = Decimal(10) ** 14



def numeric(value: Decimal) -> Decimal:
    """`value` as a numeric(20, 6) column holds it; more than 6 decimals is a caller's bug here
    (PostgreSQL would round it silently, so the fake refuses it loudly)."""
    q = value.quantize(MICRO)
    if q != value:
        raise StoreFailure(f"{value} has more than 6 decimal places")
    if abs(q) >= _NUMERIC_LIMIT:
        raise StoreFailure(f"numeric field overflow: {value}")
    return q


@dataclass
class PartnerRow:
    partner_id: str
    billing_model: str
    currency: str
    renewal: Renewal | None


@dataclass
class ChannelRow:
    channel_id: str
    partner_id: str
    client_id: str
    renewal: Renewal | None
    cancelled_at: datetime | None = None


@dataclass
class BalanceRow:
    owner_id: str
    kind: str
    partner_id: str
    client_id: str | None
    billing_model: str
    currency: str
    amount: Decimal = Decimal("0.000000")
    topup_request_id: str | None = None
    topup_requested_at: datetime | None = None
    events_issued: int = 0
    moves: int = 0


@dataclass(frozen=True)
class LedgerRow:
    entry: Entry
    own_month: str


def _renewal(r: Any) -> Renewal | None:
    return Renewal(r.enabled, numeric(r.threshold), numeric(r.amount)) if r is not None else None


_STATE = ("partners", "channels", "balances", "ledger", "last_closed_month", "closings", "held", "outbox",
          "topup_requests")


class FakeBalanceStore(FakeStore):
    """Every table of the balance schema, in memory; the PostgreSQL adapter's semantics."""

    STATE = _STATE

    def __init__(self, now: datetime | None = None) -> None:
        super().__init__()
        self.partners: dict[str, PartnerRow] = {}
        self.channels: dict[str, ChannelRow] = {}
        self.balances: dict[str, BalanceRow] = {}
        self.ledger: list[LedgerRow] = []  # in insertion order; UNIQUE (kind, business_id)
        self.last_closed_month: str | None = None
        self.closings: dict[tuple[str, str], str] = {}  # (month, owner) → the closing as JSON
        self.held: dict[RecordKey, HeldPayment] = {}
        self.outbox: list[OutboxRecord] = []
        self.topup_requests: dict[str, TopupRequest] = {}
        # The database's now(), which `active_channels` compares cancellations with.
        self.now = now


    # -- booking months ----------------------------------------------------------------------

    async def last_closed(self, for_update: bool = False) -> str | None:
        self._call("last_closed")
        return self.last_closed_month

    async def set_last_closed(self, month: str) -> None:
        self._call("set_last_closed")
        self.last_closed_month = month

    # -- balances and entries ----------------------------------------------------------------

    async def open_balances(self, specs: Sequence[BalanceSpec]) -> None:
        self._call("open_balances")
        for s in specs:  # INSERT … ON CONFLICT DO NOTHING, at the column default 0
            self.balances.setdefault(s.owner_id, BalanceRow(s.owner_id, s.kind, s.partner_id, s.client_id,
                                                            s.billing_model, s.currency))

    async def lock_balances(self, owner_ids: Collection[str]) -> dict[str, BalanceState]:
        self._call("lock_balances")
        out: dict[str, BalanceState] = {}
        for owner in sorted(owner_ids):
            b = self.balances.get(owner)
            if b is None:
                continue
            # LEFT JOIN partners ON b.partner_id, LEFT JOIN channels ON b.owner_id; the kind picks one.
            if b.kind == "partner":
                p = self.partners.get(b.partner_id)
                renewal = p.renewal if p else None
            else:
                c = self.channels.get(b.owner_id)
                renewal = c.renewal if c else None
            out[owner] = BalanceState(b.owner_id, b.kind, b.partner_id, b.client_id, b.billing_model, b.currency,
                                      b.amount, renewal, b.topup_request_id, b.topup_requested_at,
                                      b.events_issued)
        return out

    async def write_entries(self, entries: Sequence[Entry]) -> list[Entry]:
        self._call("write_entries")
        # Exactly the adapter's de-duplication of one statement's rows.
        unique = list({(e.kind, e.business_id): e for e in reversed(entries)}.values())[::-1]
        if not unique:
            return []
        seen = {(row.entry.kind, row.entry.business_id) for row in self.ledger}
        new: list[Entry] = []
        for e in unique:
            if e.kind not in ("usage", "payment", "refund", "credit"):
                raise StoreFailure(f"ledger.kind check violated: {e.kind}")
            if e.owner_id not in self.balances:
                raise StoreFailure(f"ledger.owner_id references no balance: {e.owner_id}")
            if (e.kind, e.business_id) in seen:
                continue  # ON CONFLICT (kind, business_id) DO NOTHING
            stored = Entry(e.kind, e.business_id, e.owner_id, numeric(e.amount), e.occurred_at, e.booked_month,
                           e.channel_id, e.client_id, e.category, e.method, e.topup_request_id, e.tier_from)
            self.ledger.append(LedgerRow(stored, month_of(e.occurred_at)))
            seen.add((e.kind, e.business_id))
            new.append(e)
        return new

    async def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        self._call("existing")
        return {(row.entry.kind, row.entry.business_id) for row in self.ledger} & set(keys)

    async def save_balances(self, states: Sequence[BalanceState]) -> None:
        self._call("save_balances")
        for s in states:
            b = self.balances.get(s.owner_id)
            if b is None:  # UPDATE … WHERE owner_id: nothing to update
                continue
            b.amount = numeric(s.amount)
            b.topup_request_id = s.topup_request_id
            b.topup_requested_at = s.topup_requested_at
            b.events_issued = s.events_issued

    async def count_moves(self, owner_ids: Collection[str]) -> dict[str, int]:
        self._call("count_moves")
        for owner in owner_ids:
            self.balances[owner].moves += 1
        return {o: self.balances[o].moves for o in owner_ids if o in self.balances}

    async def record_topup_request(self, request: TopupRequest) -> bool:
        self._call("record_topup_request")
        if request.request_id in self.topup_requests:
            return False
        if request.balance.owner_id not in self.balances:
            raise StoreFailure(f"topup_requests.owner_id references no balance: {request.balance.owner_id}")
        self.topup_requests[request.request_id] = request
        return True

    async def active_channels(self, balance: BalanceState) -> list[str]:
        self._call("active_channels")
        if balance.kind == "channel":
            return [balance.owner_id]
        return sorted(c.channel_id for c in self.channels.values()
                      if c.partner_id == balance.partner_id
                      and (c.cancelled_at is None or (self.now is not None and c.cancelled_at > self.now)))

    async def emit(self, records: Sequence[OutboxRecord]) -> None:
        self._call("emit")
        self.outbox.extend(records)

    # -- directory ---------------------------------------------------------------------------

    async def partner_account(self, partner_id: str) -> tuple[str, str] | None:
        self._call("partner_account")
        p = self.partners.get(partner_id)
        return (p.billing_model, p.currency) if p else None

    async def channel_partner_model(self, channel_id: str) -> str | None:
        self._call("channel_partner_model")
        c = self.channels.get(channel_id)
        p = self.partners.get(c.partner_id) if c else None
        return p.billing_model if p else None  # channels JOIN partners

    async def upsert_partner(self, event: PartnerUpserted) -> None:
        self._call("upsert_partner")
        p = self.partners.get(event.partner_id)
        if p is None:
            self.partners[event.partner_id] = PartnerRow(event.partner_id, event.billing_model, event.currency,
                                                         _renewal(event.auto_renewal))
        else:  # ON CONFLICT DO UPDATE SET renewal_*: model and currency are never changed
            p.renewal = _renewal(event.auto_renewal)

    async def upsert_channel(self, event: ChannelAdded) -> BalanceSpec | None:
        self._call("upsert_channel")
        # ON CONFLICT DO UPDATE: partner, client and renewal replaced, a cancellation undone.
        self.channels[event.channel_id] = ChannelRow(event.channel_id, event.partner_id, event.client_id,
                                                     _renewal(event.auto_renewal))
        p = self.partners.get(event.partner_id)
        if p is None or p.billing_model != "direct_paid":
            return None
        return BalanceSpec(event.channel_id, "channel", event.partner_id, event.client_id, "direct_paid",
                           p.currency)

    async def cancel_channel(self, event: ChannelCancelled) -> None:
        self._call("cancel_channel")
        c = self.channels.get(event.channel_id)
        if c is not None:
            c.cancelled_at = event.cancelled_at

    # -- held payments -----------------------------------------------------------------------

    async def hold_payment(self, held: HeldPayment) -> None:
        self._call("hold_payment")
        self.held.setdefault((held.topic, held.partition, held.offset), held)  # ON CONFLICT DO NOTHING

    async def held_payments(self, limit: int) -> list[HeldPayment]:
        self._call("held_payments")
        return sorted(self.held.values(), key=lambda h: (h.held_at, h.topic, h.partition, h.offset))[:limit]

    async def release_payments(self, held: Sequence[HeldPayment]) -> None:
        self._call("release_payments")
        for h in held:
            self.held.pop((h.topic, h.partition, h.offset), None)

    # -- closing months ----------------------------------------------------------------------

    async def summarize(self, month: str, close_id: str) -> list[BalanceClosing]:
        self._call("summarize")
        by_owner: dict[str, list[LedgerRow]] = defaultdict(list)
        for row in self.ledger:
            if row.entry.booked_month <= month:  # balances JOIN ledger: a balance without entries has none
                by_owner[row.entry.owner_id].append(row)
        closings = []
        for owner in sorted(by_owner):
            b = self.balances[owner]
            rows = by_owner[owner]
            this = [r.entry for r in rows if r.entry.booked_month == month]
            starting = sum((r.entry.amount for r in rows if r.entry.booked_month < month), Decimal(0))
            added = sum((e.amount for e in this if e.kind == "payment"), Decimal(0))
            credits = sum((e.amount for e in this if e.kind == "credit"), Decimal(0))
            usage = -sum((e.amount for e in this if e.kind == "usage"), Decimal(0))
            refunds = -sum((e.amount for e in this if e.kind == "refund"), Decimal(0))
            groups: dict[tuple[Any, ...], list[Entry]] = defaultdict(list)
            for r in rows:
                if r.entry.booked_month == month and r.entry.kind == "usage":
                    e = r.entry
                    # Banded usage by band and rate (its amount); usage without bands in one line.
                    rate = -e.amount if e.tier_from is not None else None
                    groups[(e.channel_id, e.client_id, e.category, r.own_month, e.tier_from, rate)].append(e)
            lines = [UsageLine(channel_id=ch, client_id=cl, category=ca, usage_month=own, quantity=len(es),
                               amount=plain(-sum((e.amount for e in es), Decimal(0))),
                               rate=plain(rate) if rate is not None else None, tier_from=tier)
                     for (ch, cl, ca, own, tier, rate), es in sorted(
                         groups.items(), key=lambda g: (g[0][0], g[0][3], g[0][2], g[0][4] is not None,
                                                        g[0][4] or 0, -(g[0][5] or 0)))]
            payments = [PaymentLine(payment_id=e.business_id, method=e.method, amount=plain(e.amount),
                                    paid_at=e.occurred_at)
                        for e in sorted((e for e in this if e.kind == "payment"),
                                        key=lambda e: (e.occurred_at, e.business_id))]
            closings.append(BalanceClosing(
                type="balance.closing", close_id=close_id, month=month,
                balance=Account(partner_id=owner) if b.kind == "partner" else Account(channel_id=owner),
                partner_id=b.partner_id, client_id=b.client_id, billing_model=b.billing_model,
                currency=b.currency, starting_balance=plain(starting), added_funds=plain(added),
                credits=plain(credits), usage=plain(usage), refunds=plain(refunds),
                ending_balance=plain(starting + added + credits - usage - refunds), usage_lines=lines,
                payments=payments))
        return closings

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None:
        self._call("save_closings")
        for c in closings:  # ON CONFLICT DO NOTHING
            self.closings.setdefault((c.month, c.balance.owner_id), c.model_dump_json())

    async def saved_closings(self, month: str) -> list[BalanceClosing]:
        self._call("saved_closings")
        return [BalanceClosing.model_validate_json(text)
                for (m, _), text in sorted(self.closings.items()) if m == month]

    # -- reading helpers for tests -----------------------------------------------------------

    def amount(self, owner_id: str) -> Decimal:
        return self.balances[owner_id].amount

    def entries(self, owner_id: str | None = None) -> list[Entry]:
        return [r.entry for r in self.ledger if owner_id is None or r.entry.owner_id == owner_id]

    def ledger_mismatches(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Every balance whose amount is not the sum of its entries: owner → (amount, Σ entries)."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.ledger:
            sums[row.entry.owner_id] += row.entry.amount
        return {o: (b.amount, sums[o]) for o, b in self.balances.items() if b.amount != sums[o]}


class FakeUnitOfWork(_FakeUnitOfWork[FakeBalanceStore]):
    """A `ports.UnitOfWork` over one FakeBalanceStore: commit on normal exit, roll back on an exception."""

    def __init__(self, store: FakeBalanceStore | None = None) -> None:
        super().__init__(store or FakeBalanceStore())


class Feed(_Feed):
    """Batches of this service's inputs."""

    def usage(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(USAGE_PRICED.name, owner_of(b["balance"]), b) for b in bodies]

    def payments(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(PAYMENTS.name, owner_of(b["account"]), b) for b in bodies]

    def topups(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(TOPUP_REQUESTS.name, owner_of(b["balance"]), b) for b in bodies]
    def credits(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(BALANCE_CREDITS.name, owner_of(b["balance"]), b) for b in bodies]
