"""The usage ingest use cases: statuses in, priced usage out; directory and rate cards kept.

Each function takes a batch and a unit of work and does all its writes in that
one transaction: message states, conversation claims, holds, tallies, the
outbox of priced usage and the queue of late dead letters. The caller commits
the Kafka offsets only after it returns.

A message that is ready (delivered and priced) but cannot be settled, because
its channel is not in the directory yet or no rate card prices it yet, is
*held*: its status records are remembered by position, it is settled as soon
as the directory or the rate cards catch up, and its records are dead-lettered
(`unknown_channel` or `no_rate`) if it is still held after the hold time.
Holding absorbs the races between topics (a channel or a rate card published
a moment before its usage can be consumed a moment after it).

A charged message is priced at its volume-tier band: the counts of its
(portfolio, market, category, month) advance in the same transaction that
marks it charged and queues its priced usage (`domain/tiers.py`).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.contracts import (ChannelAdded, ChannelCancelled, ClientUpserted, ErrorCode, LightMessageStatus,
                              LightPricedUsage, MessageStatus, PartnerUpserted, RateCard)
from shared.dead_letters import Accepted, Rejected

from .domain.accounts import ChannelAccount, refusal_of_partner_change
from .domain.charging import MessageState, Observation, Outcome, PricingInfo, fold
from .domain.days import usage_days
from .domain.participants import ParticipantKeys
from .domain.pricing import Quote
from .domain.recipients import country_of
from .domain.settlement import Verdict, charge_of, no_rate_reason, price, quote, verdict
from .domain.tiers import increments, positions
from .ports import Hold, RecordRef, Tally, UnitOfWork, UsageStore

UNKNOWN_CHANNEL = ErrorCode.UNKNOWN_CHANNEL.value
NO_RATE = ErrorCode.NO_RATE.value


def observation_of(message: LightMessageStatus | MessageStatus, keys: ParticipantKeys) -> Observation:
    """What billing keeps of a status; the recipient's number stops here, reduced to a country (and, for a
    group participant, to the keyed hash in its unit's key)."""
    s = message.status
    p = s.pricing
    return Observation(
        message_id=keys.unit_of(s.id, s.recipient_participant_id if s.is_group else None),
        channel_id=message.channel_id, status=s.status, at=s.timestamp_utc,
        country=country_of(s.recipient_number),
        pricing=PricingInfo(p.pricing_model, p.category, p.type, p.billable) if p else None,
        conversation_id=s.conversation.id if s.conversation else None,
    )


@dataclass
class Settlement:
    states: dict[str, MessageState] = field(default_factory=dict)
    usage: list[LightPricedUsage] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)
    no_rate: dict[str, str] = field(default_factory=dict)  # message id → why no rate


# Most held messages one directory or rate card batch settles at once; the sweeper takes the rest.
HELD_PAGE = 10_000


async def settle(store: UsageStore, states: Iterable[MessageState],
                 accounts: dict[str, ChannelAccount]) -> Settlement:
    """Decide every ready message whose channel is known, and write the decisions (and every other
    state of `states`, so that a caller that changed them writes each message once)."""
    states = list(states)
    result = Settlement()
    to_price: list[tuple[MessageState, bool]] = []  # (state, charged only if first of its conversation)
    for state in states:
        v = verdict(state, accounts.get(state.channel_id))
        if v is Verdict.FREE:
            _settle(result, state, Outcome.FREE)
        elif v in (Verdict.FIRST_OF_CONVERSATION, Verdict.CHARGE):
            to_price.append((state, v is Verdict.FIRST_OF_CONVERSATION))
    book = await store.ratebook() if to_price else None
    quoted: list[tuple[MessageState, Quote, bool]] = []
    for state, per_conversation in to_price:
        account = accounts[state.channel_id]
        q = quote(state, account, book)  # type: ignore[arg-type]
        if q is None:
            # Not priced, so it claims nothing: a conversation is charged by a message that can be.
            result.no_rate[state.message_id] = no_rate_reason(state, account)
        else:
            quoted.append((state, q, per_conversation))
    # The earliest-billed priced message of a conversation claims it; the others are free.
    claims = sorted((s.delivered_at, s.conversation_id, s.message_id) for s, _, cbp in quoted if cbp)
    winners = await store.claim_conversations([(c, m) for _, c, m in claims]) if claims else set()
    charged: list[tuple[MessageState, Quote]] = []
    for state, q, per_conversation in quoted:
        if per_conversation and state.message_id not in winners:
            _settle(result, state, Outcome.FREE)
        else:
            _settle(result, state, Outcome.CHARGED)
            charged.append((state, q))
    await store.save_messages([result.states.get(s.message_id, s) for s in states])
    if charged:
        # Late in the transaction: the counts of a busy portfolio stay locked for as short as can be.
        charges = {s.message_id: charge_of(s, accounts[s.channel_id], q) for s, q in charged}
        counted_before = await store.advance_tiers(increments(charges.values()))
        n = positions(charges.values(), counted_before)
        result.usage = [price(s, accounts[s.channel_id], q, n[s.message_id]) for s, q in charged]
        await store.emit(result.usage)
    if result.tallies:
        await store.count(result.tallies)
        free = [s for s in result.states.values() if s.outcome is Outcome.FREE]
        await store.add_usage_days(usage_days(result.usage, free, accounts))
    return result


def _settle(result: Settlement, state: MessageState, outcome: Outcome) -> None:
    result.states[state.message_id] = MessageState(state.message_id, state.channel_id, outcome, state.country,
                                                   state.pricing, state.conversation_id, state.delivered_at,
                                                   state.failed)
    assert state.pricing is not None and state.delivered_at is not None
    at = state.delivered_at
    # Formatted by hand: strftime costs several times more, for every settled message.
    result.tallies.append(Tally(state.channel_id, f"{at.year:04d}-{at.month:02d}",
                                state.pricing.category, outcome is Outcome.CHARGED))


async def ingest_statuses(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime,
                          keys: ParticipantKeys) -> list[Rejected]:
    """Fold a batch of statuses into their messages; settle, or hold, what became ready."""
    pairs = [(a, observation_of(a.message, keys)) for a in accepted]
    if not pairs:
        return []
    async with uow() as store:
        states = await store.lock_messages({(o.message_id, o.channel_id) for _, o in pairs})
        changed = fold(states, [o for _, o in pairs])
        # Every channel of the batch, not only those of changed messages: a status that changes
        # nothing (a duplicate) of a known channel must not be held as if its channel were unknown.
        accounts = await store.channel_accounts({o.channel_id for _, o in pairs})
        result = await settle(store, changed.values(), accounts)
        holds = []
        for a, o in pairs:
            if o.channel_id not in accounts:
                holds.append(Hold(_ref(a, o), UNKNOWN_CHANNEL, _unknown(o.channel_id)))
            elif o.message_id in result.no_rate:
                holds.append(Hold(_ref(a, o), NO_RATE, result.no_rate[o.message_id]))
        await store.hold(holds, now)
        if result.no_rate:
            await store.mark_no_rate(result.no_rate)
        if result.states:
            await store.release(list(result.states))
    return []


def _ref(a: Accepted, o: Observation) -> RecordRef:
    return RecordRef(a.record.topic, a.record.partition, a.record.offset, a.record.key, o.message_id, o.channel_id)


def _unknown(channel_id: str) -> str:
    return f"channel_id: {channel_id} is not in the directory"


async def retry(store: UsageStore, held: list[tuple[str, str]]) -> Settlement:
    """Settle held messages again; release what settled, hold for want of a rate what did not."""
    if not held:
        return Settlement()
    accounts = await store.channel_accounts({c for _, c in held})
    known = {(m, c) for m, c in held if c in accounts}
    if not known:
        return Settlement()
    states = await store.lock_messages(known)
    result = await settle(store, states.values(), accounts)
    # Known channel now: held only if still no rate, and from the hold's first time.
    await store.release([m for m, _ in known if m not in result.no_rate])
    if result.no_rate:
        await store.mark_no_rate(result.no_rate)
    return result


async def apply_directory(uow: UnitOfWork, accepted: Sequence[Accepted]) -> list[Rejected]:
    """Keep partners, clients and channels; refuse model or currency changes; settle held usage."""
    refused: list[Rejected] = []
    partners: set[str] = set()
    channels: set[str] = set()
    async with uow() as store:
        for a in accepted:
            event = a.message
            if isinstance(event, PartnerUpserted):
                refusal = refusal_of_partner_change(await store.partner(event.partner_id), event)
                if refusal:
                    refused.append(Rejected(a.record, *refusal))
                    continue
                await store.upsert_partner(event)
                partners.add(event.partner_id)
            elif isinstance(event, ClientUpserted):
                await store.upsert_client(event)
            elif isinstance(event, ChannelAdded):
                await store.upsert_channel(event)
                channels.add(event.channel_id)
            elif isinstance(event, ChannelCancelled):
                await store.cancel_channel(event)
        if partners:
            channels |= set(await store.known_channels_with_holds(HELD_PAGE, partner_ids=partners))
        if channels:
            await retry(store, await store.held_for_channels(channels))
    return refused


async def apply_ratecards(uow: UnitOfWork, accepted: Sequence[Accepted]) -> list[Rejected]:
    """Keep the rate cards; settle now what was held for want of a rate, before the cards' offsets are
    committed (a month close counts on it: docs/invoicing.md, "The barrier")."""
    async with uow() as store:
        for a in accepted:
            card: RateCard = a.message
            await store.upsert_ratecard(card)
        await retry(store, await store.held_for_rates(HELD_PAGE))
    return []


@dataclass(frozen=True)
class SweepReport:
    settled: int
    expired: int
    rates_version: int | None


async def sweep(uow: UnitOfWork, now: datetime, hold_s: float, rates_seen: int | None,
                limit: int = 1000) -> SweepReport:
    """Settle held messages whose channel has appeared, or (when the rate cards changed since
    version `rates_seen`) that may have a rate now; dead-letter records held longer than `hold_s`."""
    async with uow() as store:
        held = await store.held_for_channels(await store.known_channels_with_holds(limit))
        rates_version = await store.ratebook_version()
        if rates_version != rates_seen:
            for_rates = await store.held_for_rates(limit)
            held += for_rates
            if len(for_rates) >= limit:
                # A full page: more may be waiting for these rate cards. Report the version
                # as not seen yet, so that the next sweep looks at the holds for rates again.
                rates_version = rates_seen
        result = await retry(store, held)
        expired = await store.expired_holds(now - timedelta(seconds=hold_s), limit)
        if expired:
            await _expire(store, expired, hold_s)
    return SweepReport(settled=len(result.states), expired=len(expired), rates_version=rates_version)


async def _expire(store: UsageStore, expired: list[Hold], hold_s: float) -> None:
    states = await store.lock_messages({(h.ref.message_id, h.ref.channel_id) for h in expired})
    outcome = {h.ref.message_id: Outcome(h.reason) for h in expired}
    await store.save_messages([replace(s, outcome=outcome[m]) for m, s in states.items() if not s.settled])
    detail = {h.ref.message_id: h.detail for h in expired}
    letters: dict[tuple[str, str], list[RecordRef]] = defaultdict(list)
    for ref in await store.release(set(outcome)):
        if not states[ref.message_id].settled:
            letters[(outcome[ref.message_id].value, detail[ref.message_id])].append(ref)
    for (code, reason), refs in letters.items():
        await store.dead_letter_later(refs, code, f"{reason} (held {hold_s:.0f}s)")
