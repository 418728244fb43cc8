"""The balance use cases: debit usage, take payments and refunds, keep the directory, close months.

Each function runs one transaction over a batch. Balances are locked in a
fixed order before they move, so concurrent batches (usage, payments, two
instances during a rebalance) serialise per balance and never lose an update;
entries are written under their UNIQUE business id, so a redelivered record
moves nothing twice; events go to the outbox in the same transaction.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from aiokafka import ConsumerRecord

from shared.contracts import (BalanceCredit, ChannelAdded, ChannelCancelled, ContractViolation, ErrorCode, LedgerClose,
                              LedgerClosed, LedgerEntry, PartnerUpserted, PaymentSucceeded, PricedUsage,
                              RefundSucceeded, TopupRequest, decode, encode)
from shared.dead_letters import Accepted, Rejected
from shared.logging import get_logger
from shared.outbox import OutboxRecord
from shared.topics import BALANCE_EVENTS, BALANCE_MOVES, LEDGER_CLOSED, LEDGER_ENTRIES

from .domain.announcements import account_of, announce, moved, requested
from .domain.booking import booked_month, months_between
from .domain.crossings import Crossing, crossings
from .domain.ledger import BalanceState, Entry
from .domain.payments import refusal, topup_refusal
from .ports import BalanceSpec, BalanceStore, HeldPayment, UnitOfWork

log = get_logger(__name__)

# A top-up requested and never paid does not block auto-renewal for ever.
TOPUP_LAPSES_AFTER = timedelta(hours=24)


async def move(store: BalanceStore, states: dict[str, BalanceState], written: Sequence[Entry],
               now: datetime) -> list[OutboxRecord]:
    """Apply written entries to their locked balances; announce every crossing."""
    by_owner: dict[str, list[Entry]] = defaultdict(list)
    for entry in written:
        by_owner[entry.owner_id].append(entry)
    saved: list[BalanceState] = []
    records: list[OutboxRecord] = []
    for owner, entries in by_owner.items():
        state = states[owner]
        after = state.amount + sum((e.amount for e in entries), Decimal(0))
        if state.topup_request_id and any(e.topup_request_id == state.topup_request_id for e in entries):
            state = replace(state, topup_request_id=None, topup_requested_at=None)
        pending = (state.topup_request_id is not None and state.topup_requested_at is not None
                   and now - state.topup_requested_at < TOPUP_LAPSES_AFTER)
        events = crossings(state.amount, after, state.renewal, pending)
        pausing = {Crossing.DEPLETED, Crossing.RESTORED} & set(events)
        channels = await store.active_channels(state) if pausing else []
        at = max(e.occurred_at for e in entries)
        announced, state = announce(state, events, after, at, channels)
        # The request time is when we asked, not the movement's own time.
        if Crossing.TOPUP in events:
            state = replace(state, topup_requested_at=now)
        saved.append(state)
        states[owner] = state
        records += [OutboxRecord(BALANCE_EVENTS.name, owner.encode(), encode(e)) for e in announced]
    await store.save_balances(saved)
    return records + await _moves(store, saved, {o: max(e.occurred_at for e in es) for o, es in by_owner.items()})


async def _moves(store: BalanceStore, saved: Sequence[BalanceState],
                 at: dict[str, datetime]) -> list[OutboxRecord]:
    """One balance-moved record per balance the transaction moved (the portal's read model)."""
    if not saved:
        return []
    versions = await store.count_moves([s.owner_id for s in saved])
    return [OutboxRecord(BALANCE_MOVES.name, s.owner_id.encode(), encode(moved(s, versions[s.owner_id],
                                                                               at[s.owner_id])))
            for s in saved]


async def request_topups(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """Announce the top-ups people asked for (the portal) as `topup.requested`, each request once.

    A request for a balance this ledger does not have, in another currency, or of an amount it
    would refuse as a payment, is refused with the code a payment would get. The request becomes
    the balance's pending top-up, so auto-renewal does not ask again until it is paid or lapses.
    """
    if not accepted:
        return []
    refused: list[Rejected] = []
    async with uow() as store:
        states = await store.lock_balances({a.message.balance.owner_id for a in accepted})
        records: list[OutboxRecord] = []
        saved: dict[str, BalanceState] = {}
        for a in accepted:
            request: TopupRequest = a.message
            owner = request.balance.owner_id
            state = saved.get(owner) or states.get(owner)
            why = topup_refusal(request, state)
            if why is not None:
                refused.append(Rejected(a.record, *why))
                continue
            assert state is not None
            if not await store.record_topup_request(request):
                continue  # announced before
            records.append(OutboxRecord(BALANCE_EVENTS.name, owner.encode(), encode(requested(state, request, now))))
            saved[owner] = replace(state, topup_request_id=request.request_id, topup_requested_at=now)
        await store.save_balances(list(saved.values()))
        await store.emit(records)
    return refused


async def apply_usage(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """Debit a batch of priced usage: one entry per usage id, aggregated per balance."""
    usage: list[PricedUsage] = [a.message for a in accepted]
    if not usage:
        return []
    async with uow() as store:
        last_closed = await store.last_closed()
        await store.open_balances(list({spec_of(u).owner_id: spec_of(u) for u in usage}.values()))
        states = await store.lock_balances({u.balance.owner_id for u in usage})
        written = await store.write_entries([
            Entry("usage", u.usage_id, u.balance.owner_id, -u.amount, u.billed_at,
                  booked_month(u.billed_at, last_closed), u.channel_id, u.client_id, u.category,
                  tier_from=u.tier_from)
            for u in usage])
        await store.emit(await move(store, states, written, now))
    return []


def spec_of(u: PricedUsage | BalanceCredit) -> BalanceSpec:
    """The balance a movement names. Usage (or a credit) can reach the ledger before the directory does:
    it carries what opening its balance needs."""
    if u.billing_model == "partner_paid":
        return BalanceSpec(u.partner_id, "partner", u.partner_id, None, u.billing_model, u.currency)
    return BalanceSpec(u.balance.owner_id, "channel", u.partner_id, u.client_id, u.billing_model, u.currency)


async def apply_payments(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime,
                         hold_s: float) -> list[Rejected]:
    """Credit payments and debit refunds in order; refuse what §3.4 refuses; hold payments for
    accounts the directory has not shown yet (it can lag behind the payment provider)."""
    async with uow() as store:
        refused, _ = await _apply_payments(store, [(a.record, a.message, now) for a in accepted], now, hold_s)
    return refused


async def _apply_payments(store: BalanceStore, items: list[tuple[ConsumerRecord, object, datetime]],
                          now: datetime, hold_s: float) -> tuple[list[Rejected], list[ConsumerRecord]]:
    """Returns the refusals and the records that were applied or refused (not held)."""
    last_closed = await store.last_closed()
    states = await store.lock_balances({e.account.owner_id for _, e, _ in items})  # type: ignore[attr-defined]
    available = {o: s.amount for o, s in states.items()}
    # A movement already in the ledger is a redelivery: skipped before it is judged, or a refund
    # applied before a crash would now look larger than the balance it already reduced.
    seen = await store.existing([_key(e) for _, e, _ in items])  # type: ignore[arg-type]
    refused: list[Rejected] = []
    done: list[ConsumerRecord] = []
    written: list[Entry] = []
    ledger: list[OutboxRecord] = []
    for record, event, held_at in items:
        assert isinstance(event, (PaymentSucceeded, RefundSucceeded))
        if _key(event) in seen:
            done.append(record)
            continue
        owner = event.account.owner_id
        state = states.get(owner)
        model = None if state else await _directory_model(store, event)
        if state is None and model is None and now - held_at < timedelta(seconds=hold_s):
            await store.hold_payment(HeldPayment(record.topic, record.partition, record.offset, record.key,
                                                 record.value, held_at))
            continue
        done.append(record)
        why = refusal(event, state, available.get(owner, Decimal(0)), model)
        if why is not None:
            if why[0] is ErrorCode.REFUND_EXCEEDS_BALANCE:
                log.warning("refund exceeds the balance", balance_id=owner, amount=str(event.amount),
                            available=str(available.get(owner)), currency=event.currency, offset=record.offset)
            refused.append(Rejected(record, *why))
            continue
        assert state is not None
        entry = _entry_of(event, owner, last_closed)
        if not await store.write_entries([entry]):
            continue  # seen before: its effect is already in the ledger
        written.append(entry)
        available[owner] += entry.amount
        ledger.append(_ledger_record(event, entry, state, available[owner]))
    await store.emit([*ledger, *await move(store, states, written, now)])
    return refused, done


def _key(event: PaymentSucceeded | RefundSucceeded) -> tuple[str, str]:
    if isinstance(event, PaymentSucceeded):
        return "payment", event.payment_id
    return "refund", event.refund_id


async def _directory_model(store: BalanceStore, event: PaymentSucceeded | RefundSucceeded) -> str | None:
    account = event.account
    if account.partner_id:
        known = await store.partner_account(account.partner_id)
        return known[0] if known else None
    return await store.channel_partner_model(account.channel_id or "")


def _entry_of(event: PaymentSucceeded | RefundSucceeded, owner: str, last_closed: str | None) -> Entry:
    if isinstance(event, PaymentSucceeded):
        return Entry("payment", event.payment_id, owner, event.amount, event.paid_at,
                     booked_month(event.paid_at, last_closed), method=event.method,
                     topup_request_id=event.topup_request_id)
    return Entry("refund", event.refund_id, owner, -event.amount, event.refunded_at,
                 booked_month(event.refunded_at, last_closed))


def _ledger_record(event: PaymentSucceeded | RefundSucceeded, entry: Entry, state: BalanceState,
                   after: Decimal) -> OutboxRecord:
    message = LedgerEntry(
        entry_id=entry.business_id, kind=entry.kind, balance=account_of(state), partner_id=state.partner_id,
        client_id=state.client_id, channel_id=state.owner_id if state.kind == "channel" else None,
        billing_model=state.billing_model, currency=state.currency, amount=abs(entry.amount),
        method=entry.method, occurred_at=entry.occurred_at, booked_month=entry.booked_month,
        topup_request_id=entry.topup_request_id, balance_after=after)
    return OutboxRecord(LEDGER_ENTRIES.name, state.owner_id.encode(), encode(message))


async def retry_held_payments(uow: UnitOfWork, now: datetime, hold_s: float,
                              dead_letter: Callable[[list[Rejected]], Awaitable[None]],
                              limit: int = 500) -> int:
    """Apply held payments whose account has appeared; refuse as unknown_account those held too long.

    The refusals are dead-lettered before the transaction commits, as a consumer does before it
    commits its offsets: a crash in between dead-letters them again, never loses them.
    """
    async with uow() as store:
        held = await store.held_payments(limit)
        if not held:
            return 0
        items = []
        for h in held:
            record = ConsumerRecord(h.topic, h.partition, h.offset, 0, 0, h.key, h.value, None, 0, 0, ())
            try:
                items.append((record, decode(h.topic, h.value, max_bytes=1 << 30), h.held_at))
            except ContractViolation:  # held only after passing the gate; kept for safety
                continue
        refused, done = await _apply_payments(store, items, now, hold_s)
        done_at = {(r.topic, r.partition, r.offset) for r in done}
        await store.release_payments([h for h in held if (h.topic, h.partition, h.offset) in done_at])
        await dead_letter(refused)
    return len(done)


async def apply_directory(uow: UnitOfWork, accepted: Sequence[Accepted]) -> list[Rejected]:
    """Keep the partners and channels balances depend on; open their balances.

    Usage ingest owns this topic's dead letters; a change of billing model or
    currency, which it refuses, is skipped here too.
    """
    async with uow() as store:
        specs: list[BalanceSpec] = []
        for a in accepted:
            event = a.message
            if isinstance(event, PartnerUpserted):
                known = await store.partner_account(event.partner_id)
                if known is not None and known != (event.billing_model, event.currency):
                    continue
                await store.upsert_partner(event)
                if event.billing_model == "partner_paid":
                    specs.append(BalanceSpec(event.partner_id, "partner", event.partner_id, None,
                                             event.billing_model, event.currency))
            elif isinstance(event, ChannelAdded):
                spec = await store.upsert_channel(event)
                if spec is not None:
                    specs.append(spec)
            elif isinstance(event, ChannelCancelled):
                await store.cancel_channel(event)
        await store.open_balances(specs)
    return []


async def close_ledger(uow: UnitOfWork, command: LedgerClose) -> None:
    """Close every open booking month up to the one asked; publish each balance's closing.

    Movements of a closed month are booked to the next open one from now on.
    Asked again for a closed month, it publishes the same closings again.
    """
    async with uow() as store:
        last = await store.last_closed(for_update=True)
        records: list[OutboxRecord] = []
        for month in months_between(last, command.month) or [command.month]:
            closings = (await store.saved_closings(month) if last is not None and month <= last
                        else await store.summarize(month, command.close_id))
            if last is None or month > last:
                await store.save_closings(closings)
                await store.set_last_closed(month)
            records += [OutboxRecord(LEDGER_CLOSED.name, month.encode(), encode(c)) for c in closings]
            marker = LedgerClosed(type="ledger.closed", close_id=command.close_id, month=month,
                                  balances=len(closings))
            records.append(OutboxRecord(LEDGER_CLOSED.name, month.encode(), encode(marker)))
        await store.emit(records)

