"""The usage store on PostgreSQL: set-based statements, one transaction per batch."""

from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from shared import stored_positions
from shared.contracts import (ChannelAdded, ChannelCancelled, ClientUpserted, LightPricedUsage, PartnerUpserted,
                              RateCard, encode)
from shared.outbox import OutboxRecord, enqueue
from shared.topics import USAGE_DAYS, USAGE_PRICED

from ..domain.accounts import ChannelAccount, KnownPartner
from ..domain.charging import MessageState, Outcome, PricingInfo
from ..domain.days import DayDelta, usage_day
from ..domain.pricing import RateBook
from ..domain.tiers import TierKey
from ..ports import Hold, RecordRef, Tally

_MESSAGE_COLUMNS = ("message_id, channel_id, outcome, country, pricing_model, category, pricing_type, "
                    "billable, conversation_id, delivered_at, failed")


class RateBookCache:
    """The rate book of this process, reloaded when the `ratecards` table's version moves."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.book = RateBook(())


def _state(row: asyncpg.Record) -> MessageState:
    pricing = (PricingInfo(row["pricing_model"], row["category"], row["pricing_type"], row["billable"])
               if row["pricing_model"] is not None else None)
    return MessageState(row["message_id"], row["channel_id"], Outcome(row["outcome"]), row["country"],
                        pricing, row["conversation_id"], row["delivered_at"], row["failed"])


class PostgresUsageStore:
    def __init__(self, conn: asyncpg.Connection, cache: RateBookCache) -> None:
        self.conn = conn
        self.cache = cache

    async def lock_messages(self, keys: Collection[tuple[str, str]]) -> dict[str, MessageState]:
        # Sorted, so that two instances locking overlapping batches never deadlock.
        ordered = sorted(keys)
        ids = [m for m, _ in ordered]
        await self.conn.execute(
            "INSERT INTO messages (message_id, channel_id) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT DO NOTHING", ids, [c for _, c in ordered])
        rows = await self.conn.fetch(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id = ANY($1::text[]) "
            "ORDER BY message_id FOR UPDATE", ids)
        return {r["message_id"]: _state(r) for r in rows}

    async def save_messages(self, states: Sequence[MessageState]) -> None:
        if not states:
            return
        p = [s.pricing for s in states]
        await self.conn.execute(
            """UPDATE messages m SET outcome = u.outcome, country = u.country,
                   pricing_model = u.pricing_model, category = u.category, pricing_type = u.pricing_type,
                   billable = u.billable, conversation_id = u.conversation_id,
                   delivered_at = u.delivered_at, failed = u.failed, updated_at = now()
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::bool[], $8::text[], $9::timestamptz[], $10::bool[])
                    AS u(message_id, outcome, country, pricing_model, category, pricing_type,
                         billable, conversation_id, delivered_at, failed)
               WHERE m.message_id = u.message_id""",
            [s.message_id for s in states], [s.outcome.value for s in states], [s.country for s in states],
            [x.pricing_model if x else None for x in p], [x.category if x else None for x in p],
            [x.type if x else None for x in p], [x.billable if x else None for x in p],
            [s.conversation_id for s in states], [s.delivered_at for s in states],
            [s.failed for s in states])

    async def channel_accounts(self, channel_ids: Collection[str]) -> dict[str, ChannelAccount]:
        rows = await self.conn.fetch(
            "SELECT c.channel_id, c.client_id, c.partner_id, p.billing_model, p.currency, "
            "cl.business_portfolio_id FROM channels c JOIN partners p ON p.partner_id = c.partner_id "
            "LEFT JOIN clients cl ON cl.client_id = c.client_id "
            "WHERE c.channel_id = ANY($1::text[])", list(channel_ids))
        return {r["channel_id"]: ChannelAccount(*r.values()) for r in rows}

    async def ratebook_version(self) -> int | None:
        return await self.conn.fetchval("SELECT max(version) FROM ratecards")

    async def ratebook(self) -> RateBook:
        version = await self.ratebook_version()
        if version != self.cache.version:
            rows = await self.conn.fetch("SELECT card::text FROM ratecards")
            self.cache.book = RateBook(RateCard.model_validate_json(r["card"]) for r in rows)
            self.cache.version = version
        return self.cache.book

    async def claim_conversations(self, claims: Sequence[tuple[str, str]]) -> set[str]:
        conversations = [c for c, _ in claims]
        await self.conn.execute(
            "INSERT INTO conversations SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
            conversations, [m for _, m in claims])
        # The owners, not only this statement's winners: a message that claimed its
        # conversation before (and was then refused for want of a rate) keeps it.
        rows = await self.conn.fetch(
            "SELECT message_id FROM conversations WHERE conversation_id = ANY($1::text[])", conversations)
        return {r["message_id"] for r in rows}

    async def advance_tiers(self, increments: Mapping[TierKey, int]) -> dict[TierKey, int]:
        keys = list(increments)
        # One statement for the batch; ORDER BY: every instance locks the counts in the same order.
        rows = await self.conn.fetch(
            "INSERT INTO tier_counts AS t (portfolio_id, market, category, usage_month, charged) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) "
            "ORDER BY 1, 2, 3, 4 "
            "ON CONFLICT (portfolio_id, market, category, usage_month) DO UPDATE SET charged = t.charged + "
            "excluded.charged RETURNING portfolio_id, market, category, usage_month, charged",
            [k.portfolio_id for k in keys], [k.market for k in keys], [k.category for k in keys],
            [k.usage_month for k in keys], [increments[k] for k in keys])
        before = {}
        for r in rows:
            key = TierKey(r["portfolio_id"], r["market"], r["category"], r["usage_month"])
            before[key] = r["charged"] - increments[key]
        return before

    async def emit(self, usage: Sequence[LightPricedUsage]) -> None:
        await enqueue(self.conn, [OutboxRecord(USAGE_PRICED.name, u.balance.owner_id.encode(), encode(u))
                                  for u in usage])

    async def count(self, tallies: Sequence[Tally]) -> None:
        counts = Counter(tallies)
        keys = list(counts)
        await self.conn.execute(
            "INSERT INTO usage_tally SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], "
            "$5::bigint[]) ON CONFLICT (channel_id, usage_month, category, charged) "
            "DO UPDATE SET messages = usage_tally.messages + excluded.messages",
            [k.channel_id for k in keys], [k.usage_month for k in keys], [k.category for k in keys],
            [k.charged for k in keys], [counts[k] for k in keys])

    async def add_usage_days(self, days: Sequence[DayDelta]) -> None:
        if not days:
            return
        rows = await self.conn.fetch(
            "INSERT INTO usage_days AS d (channel_id, day, category, charged, free, amount) "
            "SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::numeric[]) "
            "ON CONFLICT (channel_id, day, category) DO UPDATE SET charged = d.charged + excluded.charged, "
            "free = d.free + excluded.free, amount = d.amount + excluded.amount, version = d.version + 1 "
            "RETURNING channel_id, day, category, charged, free, amount, version",
            [d.account.channel_id for d in days], [d.day for d in days], [d.category for d in days],
            [d.charged for d in days], [d.free for d in days], [d.amount for d in days])
        accounts = {d.account.channel_id: d.account for d in days}
        await enqueue(self.conn, [OutboxRecord(USAGE_DAYS.name, r["channel_id"].encode(), encode(
            usage_day(accounts[r["channel_id"]], r["day"], r["category"], r["charged"], r["free"], r["amount"],
                      r["version"]))) for r in rows])

    async def hold(self, holds: Sequence[Hold], at: datetime) -> None:
        if holds:
            refs = [h.ref for h in holds]
            await self.conn.execute(
                "INSERT INTO held_records (topic, partition, \"offset\", key, message_id, channel_id, "
                "reason, detail, held_at) SELECT *, $9::timestamptz FROM unnest($1::text[], $2::int[], "
                "$3::bigint[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[]) "
                "ON CONFLICT (topic, partition, \"offset\") DO UPDATE SET reason = excluded.reason, "
                "detail = excluded.detail", *_ref_columns(refs),
                [h.reason for h in holds], [h.detail for h in holds], at)

    async def held_for_channels(self, channel_ids: Collection[str]) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT DISTINCT message_id, channel_id FROM held_records "
            "WHERE reason = 'unknown_channel' AND channel_id = ANY($1::text[])", list(channel_ids))
        return [(r["message_id"], r["channel_id"]) for r in rows]

    async def held_for_rates(self, limit: int) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT message_id, channel_id FROM held_records WHERE reason = 'no_rate' "
            "GROUP BY message_id, channel_id ORDER BY min(held_at) LIMIT $1", limit)
        return [(r["message_id"], r["channel_id"]) for r in rows]

    async def mark_no_rate(self, details: dict[str, str]) -> None:
        await self.conn.execute(
            "UPDATE held_records h SET reason = 'no_rate', detail = u.detail "
            "FROM unnest($1::text[], $2::text[]) AS u(message_id, detail) WHERE h.message_id = u.message_id",
            list(details), list(details.values()))

    async def release(self, message_ids: Collection[str]) -> list[RecordRef]:
        if not message_ids:
            return []
        rows = await self.conn.fetch(
            "DELETE FROM held_records WHERE message_id = ANY($1::text[]) "
            "RETURNING topic, partition, \"offset\", key, message_id, channel_id", list(message_ids))
        return [RecordRef(*r.values()) for r in rows]

    async def expired_holds(self, held_before: datetime, limit: int) -> list[Hold]:
        rows = await self.conn.fetch(
            "SELECT topic, partition, \"offset\", key, message_id, channel_id, reason, detail "
            "FROM held_records WHERE held_at < $1 ORDER BY held_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            held_before, limit)
        return [Hold(RecordRef(*list(r.values())[:6]), r["reason"], r["detail"]) for r in rows]

    async def known_channels_with_holds(self, limit: int,
                                        partner_ids: Collection[str] | None = None) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT DISTINCT h.channel_id FROM held_records h "
            "JOIN channels c ON c.channel_id = h.channel_id JOIN partners p ON p.partner_id = c.partner_id "
            "WHERE h.reason = 'unknown_channel' AND ($2::text[] IS NULL OR c.partner_id = ANY($2::text[])) "
            "LIMIT $1", limit, list(partner_ids) if partner_ids is not None else None)
        return [r["channel_id"] for r in rows]

    async def dead_letter_later(self, refs: Sequence[RecordRef], code: str, reason: str) -> None:
        topics, partitions, offsets, keys, _, _ = _ref_columns(refs)
        await self.conn.execute(
            "INSERT INTO late_dead_letters (topic, partition, \"offset\", key, code, reason) "
            "SELECT *, $5::text, $6::text FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[]) "
            "ON CONFLICT DO NOTHING", topics, partitions, offsets, keys, str(code), reason)

    async def partner(self, partner_id: str) -> KnownPartner | None:
        row = await self.conn.fetchrow(
            "SELECT billing_model, currency FROM partners WHERE partner_id = $1", partner_id)
        return KnownPartner(row["billing_model"], row["currency"]) if row else None

    async def upsert_partner(self, e: PartnerUpserted) -> None:
        await self.conn.execute(
            "INSERT INTO partners (partner_id, billing_model, currency, name) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (partner_id) DO UPDATE SET name = excluded.name, updated_at = now()",
            e.partner_id, e.billing_model, e.currency, e.name)

    async def upsert_client(self, e: ClientUpserted) -> None:
        await self.conn.execute(
            "INSERT INTO clients (client_id, partner_id, name, business_portfolio_id) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (client_id) DO UPDATE SET partner_id = excluded.partner_id, name = excluded.name, "
            "business_portfolio_id = excluded.business_portfolio_id, updated_at = now()",
            e.client_id, e.partner_id, e.name, e.business_portfolio_id)

    async def upsert_channel(self, e: ChannelAdded) -> None:
        await self.conn.execute(
            "INSERT INTO channels (channel_id, client_id, partner_id, billing_started_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id) DO UPDATE SET client_id = excluded.client_id, "
            "partner_id = excluded.partner_id, billing_started_at = excluded.billing_started_at, "
            "updated_at = now()", e.channel_id, e.client_id, e.partner_id, e.billing_started_at)

    async def cancel_channel(self, e: ChannelCancelled) -> None:
        await self.conn.execute(
            "UPDATE channels SET cancelled_at = $2, updated_at = now() WHERE channel_id = $1",
            e.channel_id, e.cancelled_at)

    async def upsert_ratecard(self, card: RateCard) -> None:
        # A card republished under its id (for another day) replaces the old one.
        await self.conn.execute(
            "DELETE FROM ratecards WHERE ratecard_id = $1 AND (currency, effective_from) <> ($2, $3)",
            card.ratecard_id, card.currency, card.effective_from)
        await self.conn.execute(
            "INSERT INTO ratecards (ratecard_id, currency, effective_from, card) VALUES ($1, $2, $3, $4::jsonb) "
            "ON CONFLICT (currency, effective_from) DO UPDATE SET ratecard_id = excluded.ratecard_id, "
            "card = excluded.card, version = nextval('ratecard_versions')",
            card.ratecard_id, card.currency, card.effective_from, encode(card).decode())


def _ref_columns(refs: Sequence[RecordRef]) -> tuple[list, ...]:
    return ([r.topic for r in refs], [r.partition for r in refs], [r.offset for r in refs],
            [r.key for r in refs], [r.message_id for r in refs], [r.channel_id for r in refs])


def unit_of_work(pool: Callable[[], asyncpg.Pool], cache: RateBookCache):
    """Each call opens a transaction on a pooled connection, committed when the block ends normally."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[PostgresUsageStore]:
        async with stored_positions.transaction(pool()) as conn:  # with the batch's positions, if any
            yield PostgresUsageStore(conn, cache)

    return transaction
