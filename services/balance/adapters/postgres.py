"""The ledger on PostgreSQL: set-based statements, balances locked in a fixed order."""

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager

import asyncpg

from shared import stored_positions
from shared.contracts import (Account, BalanceClosing, ChannelAdded, ChannelCancelled, PartnerUpserted,
                              PaymentLine, TopupRequest, UsageLine)
from shared.money import plain
from shared.outbox import OutboxRecord, enqueue

from ..domain.crossings import Renewal
from ..domain.ledger import BalanceState, Entry
from ..ports import BalanceSpec, HeldPayment

_RENEWAL = "CASE WHEN b.kind = 'partner' THEN p.renewal_{0} ELSE c.renewal_{0} END"


def _state(r: asyncpg.Record) -> BalanceState:
    renewal = (Renewal(r["renewal_enabled"], r["renewal_threshold"], r["renewal_amount"])
               if r["renewal_enabled"] is not None else None)
    return BalanceState(r["owner_id"], r["kind"], r["partner_id"], r["client_id"], r["billing_model"],
                        r["currency"], r["amount"], renewal, r["topup_request_id"], r["topup_requested_at"],
                        r["events_issued"])


class PostgresBalanceStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def last_closed(self, for_update: bool = False) -> str | None:
        lock = "FOR UPDATE" if for_update else "FOR SHARE"
        return await self.conn.fetchval(f"SELECT last_closed FROM ledger_state WHERE id = 1 {lock}")

    async def open_balances(self, specs: Sequence[BalanceSpec]) -> None:
        if specs:
            await self.conn.execute(
                "INSERT INTO balances (owner_id, kind, partner_id, client_id, billing_model, currency) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) "
                "ON CONFLICT DO NOTHING",
                [s.owner_id for s in specs], [s.kind for s in specs], [s.partner_id for s in specs],
                [s.client_id for s in specs], [s.billing_model for s in specs], [s.currency for s in specs])

    async def lock_balances(self, owner_ids: Collection[str]) -> dict[str, BalanceState]:
        rows = await self.conn.fetch(
            f"""SELECT b.owner_id, b.kind, b.partner_id, b.client_id, b.billing_model, b.currency, b.amount,
                       b.topup_request_id, b.topup_requested_at, b.events_issued,
                       {_RENEWAL.format('enabled')} AS renewal_enabled,
                       {_RENEWAL.format('threshold')} AS renewal_threshold,
                       {_RENEWAL.format('amount')} AS renewal_amount
                FROM balances b
                LEFT JOIN partners p ON p.partner_id = b.partner_id
                LEFT JOIN channels c ON c.channel_id = b.owner_id
                WHERE b.owner_id = ANY($1::text[]) ORDER BY b.owner_id FOR UPDATE OF b""",
            sorted(owner_ids))
        return {r["owner_id"]: _state(r) for r in rows}

    async def write_entries(self, entries: Sequence[Entry]) -> list[Entry]:
        # One per business id: the same usage published twice can land in one batch.
        unique = list({(e.kind, e.business_id): e for e in reversed(entries)}.values())[::-1]
        if not unique:
            return []
        rows = await self.conn.fetch(
            """INSERT INTO ledger (kind, business_id, owner_id, amount, occurred_at, own_month, booked_month,
                                   channel_id, client_id, category, method, topup_request_id, tier_from)
               SELECT k, b, o, a, t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM'), m, ch, cl, ca, me, tr, tf
               FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[],
                           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[])
                    AS u(k, b, o, a, t, m, ch, cl, ca, me, tr, tf)
               ON CONFLICT (kind, business_id) DO NOTHING
               RETURNING kind, business_id""",
            [e.kind for e in unique], [e.business_id for e in unique], [e.owner_id for e in unique],
            [e.amount for e in unique], [e.occurred_at for e in unique], [e.booked_month for e in unique],
            [e.channel_id for e in unique], [e.client_id for e in unique], [e.category for e in unique],
            [e.method for e in unique], [e.topup_request_id for e in unique], [e.tier_from for e in unique])
        new = {(r["kind"], r["business_id"]) for r in rows}
        return [e for e in unique if (e.kind, e.business_id) in new]

    async def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT kind, business_id FROM ledger WHERE (kind, business_id) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))", [k for k, _ in keys], [b for _, b in keys])
        return {(r["kind"], r["business_id"]) for r in rows}

    async def save_balances(self, states: Sequence[BalanceState]) -> None:
        if states:
            await self.conn.execute(
                """UPDATE balances b SET amount = u.amount, topup_request_id = u.tr,
                       topup_requested_at = u.ta, events_issued = u.ev
                   FROM unnest($1::text[], $2::numeric[], $3::text[], $4::timestamptz[], $5::bigint[])
                        AS u(owner_id, amount, tr, ta, ev)
                   WHERE b.owner_id = u.owner_id""",
                [s.owner_id for s in states], [s.amount for s in states],
                [s.topup_request_id for s in states], [s.topup_requested_at for s in states],
                [s.events_issued for s in states])

    async def count_moves(self, owner_ids: Collection[str]) -> dict[str, int]:
        rows = await self.conn.fetch(
            "UPDATE balances SET moves = moves + 1 WHERE owner_id = ANY($1::text[]) RETURNING owner_id, moves",
            sorted(owner_ids))
        return {r["owner_id"]: r["moves"] for r in rows}

    async def record_topup_request(self, request: TopupRequest) -> bool:
        return await self.conn.fetchval(
            "INSERT INTO topup_requests (request_id, owner_id, amount, requested_by, requested_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
            request.request_id, request.balance.owner_id, request.amount, request.requested_by,
            request.requested_at) is not None

    async def active_channels(self, balance: BalanceState) -> list[str]:
        if balance.kind == "channel":
            return [balance.owner_id]
        rows = await self.conn.fetch(
            "SELECT channel_id FROM channels WHERE partner_id = $1 "
            "AND (cancelled_at IS NULL OR cancelled_at > now()) ORDER BY channel_id", balance.partner_id)
        return [r["channel_id"] for r in rows]

    async def emit(self, records: Sequence[OutboxRecord]) -> None:
        await enqueue(self.conn, records)

    async def partner_account(self, partner_id: str) -> tuple[str, str] | None:
        row = await self.conn.fetchrow(
            "SELECT billing_model, currency FROM partners WHERE partner_id = $1", partner_id)
        return (row["billing_model"], row["currency"]) if row else None

    async def channel_partner_model(self, channel_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT p.billing_model FROM channels c JOIN partners p ON p.partner_id = c.partner_id "
            "WHERE c.channel_id = $1", channel_id)

    async def upsert_partner(self, e: PartnerUpserted) -> None:
        r = e.auto_renewal
        await self.conn.execute(
            """INSERT INTO partners (partner_id, billing_model, currency, renewal_enabled, renewal_threshold,
                                     renewal_amount) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (partner_id) DO UPDATE SET renewal_enabled = excluded.renewal_enabled,
                   renewal_threshold = excluded.renewal_threshold, renewal_amount = excluded.renewal_amount,
                   updated_at = now()""",
            e.partner_id, e.billing_model, e.currency, r.enabled if r else None, r.threshold if r else None,
            r.amount if r else None)

    async def upsert_channel(self, e: ChannelAdded) -> BalanceSpec | None:
        r = e.auto_renewal
        await self.conn.execute(
            """INSERT INTO channels (channel_id, partner_id, client_id, renewal_enabled, renewal_threshold,
                                     renewal_amount) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (channel_id) DO UPDATE SET partner_id = excluded.partner_id,
                   client_id = excluded.client_id, renewal_enabled = excluded.renewal_enabled,
                   renewal_threshold = excluded.renewal_threshold, renewal_amount = excluded.renewal_amount,
                   cancelled_at = NULL, updated_at = now()""",
            e.channel_id, e.partner_id, e.client_id, r.enabled if r else None, r.threshold if r else None,
            r.amount if r else None)
        partner = await self.partner_account(e.partner_id)
        if partner is None or partner[0] != "direct_paid":
            return None
        return BalanceSpec(e.channel_id, "channel", e.partner_id, e.client_id, "direct_paid", partner[1])

    async def cancel_channel(self, e: ChannelCancelled) -> None:
        await self.conn.execute("UPDATE channels SET cancelled_at = $2, updated_at = now() WHERE channel_id = $1",
                                e.channel_id, e.cancelled_at)

    async def hold_payment(self, held: HeldPayment) -> None:
        await self.conn.execute(
            "INSERT INTO held_payments VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            held.topic, held.partition, held.offset, held.key, held.value, held.held_at)

    async def held_payments(self, limit: int) -> list[HeldPayment]:
        rows = await self.conn.fetch(
            "SELECT topic, partition, \"offset\", key, value, held_at FROM held_payments "
            "ORDER BY held_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [HeldPayment(*r.values()) for r in rows]

    async def release_payments(self, held: Sequence[HeldPayment]) -> None:
        if held:
            await self.conn.execute(
                "DELETE FROM held_payments WHERE (topic, partition, \"offset\") IN "
                "(SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))",
                [h.topic for h in held], [h.partition for h in held], [h.offset for h in held])

    async def summarize(self, month: str, close_id: str) -> list[BalanceClosing]:
        sums = await self.conn.fetch(
            """SELECT b.owner_id, b.kind, b.partner_id, b.client_id, b.billing_model, b.currency,
                   coalesce(sum(l.amount) FILTER (WHERE l.booked_month < $1), 0) AS starting,
                   coalesce(sum(l.amount) FILTER (WHERE l.booked_month = $1 AND l.kind = 'payment'), 0) AS added,
                   coalesce(sum(l.amount) FILTER (WHERE l.booked_month = $1 AND l.kind = 'credit'), 0) AS credits,
                   coalesce(-sum(l.amount) FILTER (WHERE l.booked_month = $1 AND l.kind = 'usage'), 0) AS usage,
                   coalesce(-sum(l.amount) FILTER (WHERE l.booked_month = $1 AND l.kind = 'refund'), 0) AS refunds
               FROM balances b JOIN ledger l ON l.owner_id = b.owner_id AND l.booked_month <= $1
               GROUP BY b.owner_id ORDER BY b.owner_id""", month)
        lines: dict[str, list[UsageLine]] = defaultdict(list)
        # Usage priced in volume-tier bands is broken down by band and rate (a usage entry's rate is its
        # amount); usage without bands stays one line per (channel, category, usage month).
        for r in await self.conn.fetch(
                """SELECT owner_id, channel_id, client_id, category, own_month, tier_from,
                          CASE WHEN tier_from IS NOT NULL THEN -amount END AS rate, count(*) AS n,
                          -sum(amount) AS amount
                   FROM ledger WHERE booked_month = $1 AND kind = 'usage'
                   GROUP BY owner_id, channel_id, client_id, category, own_month, tier_from, 7
                   ORDER BY owner_id, channel_id, own_month, category, tier_from NULLS FIRST, rate DESC""",
                month):
            lines[r["owner_id"]].append(UsageLine(
                channel_id=r["channel_id"], client_id=r["client_id"], category=r["category"],
                usage_month=r["own_month"], quantity=r["n"], amount=plain(r["amount"]),
                rate=plain(r["rate"]) if r["rate"] is not None else None, tier_from=r["tier_from"]))
        payments: dict[str, list[PaymentLine]] = defaultdict(list)
        for r in await self.conn.fetch(
                "SELECT owner_id, business_id, method, amount, occurred_at FROM ledger "
                "WHERE booked_month = $1 AND kind = 'payment' ORDER BY occurred_at, business_id", month):
            payments[r["owner_id"]].append(PaymentLine(payment_id=r["business_id"], method=r["method"],
                                                       amount=plain(r["amount"]), paid_at=r["occurred_at"]))
        closings = []
        for r in sums:
            owner = r["owner_id"]
            starting, added, credits = r["starting"], r["added"], r["credits"]
            usage, refunds = r["usage"], r["refunds"]
            closings.append(BalanceClosing(
                type="balance.closing", close_id=close_id, month=month,
                balance=Account(partner_id=owner) if r["kind"] == "partner" else Account(channel_id=owner),
                partner_id=r["partner_id"], client_id=r["client_id"], billing_model=r["billing_model"],
                currency=r["currency"], starting_balance=plain(starting), added_funds=plain(added),
                credits=plain(credits), usage=plain(usage), refunds=plain(refunds),
                ending_balance=plain(starting + added + credits - usage - refunds),
                usage_lines=lines.get(owner, []), payments=payments.get(owner, [])))
        return closings

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None:
        if closings:
            await self.conn.execute(
                "INSERT INTO closings SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) "
                "ON CONFLICT DO NOTHING", [c.month for c in closings],
                [c.balance.owner_id for c in closings], [c.model_dump_json() for c in closings])

    async def saved_closings(self, month: str) -> list[BalanceClosing]:
        rows = await self.conn.fetch(
            "SELECT closing::text FROM closings WHERE month = $1 ORDER BY owner_id", month)
        return [BalanceClosing.model_validate_json(r["closing"]) for r in rows]

    async def set_last_closed(self, month: str) -> None:
        await self.conn.execute("UPDATE ledger_state SET last_closed = $1 WHERE id = 1", month)


def unit_of_work(pool: Callable[[], asyncpg.Pool]):
    """Each call opens a transaction on a pooled connection, committed when the block ends normally."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[PostgresBalanceStore]:
        async with stored_positions.transaction(pool()) as conn:  # with the batch's positions, if any
            yield PostgresBalanceStore(conn)

    return transaction

