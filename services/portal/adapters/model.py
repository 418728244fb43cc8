"""The read model on PostgreSQL, written by the consumers as the service's own role: set-based upserts."""

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from shared import stored_positions
from shared.contracts import (BalanceEvent, BalanceMoved, ChannelAdded, ChannelCancelled, ClientUpserted,
                              DeadLetter, Invoice, InvoiceDocument, LedgerEntry, PartnerUpserted,
                              ReconciliationRan, TopupRequested, UsageDay)

_MONTH_FIELDS = {"requested_at", "ledger_close_at", "ledger_closed_at"}


class PostgresModelStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert_partners(self, events: Sequence[PartnerUpserted]) -> None:
        if not events:
            return
        latest = list({e.partner_id: e for e in events}.values())  # one row per partner per statement
        r = [e.auto_renewal for e in latest]
        await self.conn.execute(
            """INSERT INTO partners (partner_id, name, billing_model, currency, plan, country, created_at,
                                     renewal_enabled, renewal_threshold, renewal_amount)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                    $7::timestamptz[], $8::bool[], $9::numeric[], $10::numeric[])
               ON CONFLICT (partner_id) DO UPDATE SET name = excluded.name, plan = excluded.plan,
                   country = excluded.country, renewal_enabled = excluded.renewal_enabled,
                   renewal_threshold = excluded.renewal_threshold, renewal_amount = excluded.renewal_amount""",
            [e.partner_id for e in latest], [e.name for e in latest], [e.billing_model for e in latest],
            [e.currency for e in latest], [e.plan for e in latest], [e.billing_address.country for e in latest],
            [e.created_at for e in latest], [x.enabled if x else None for x in r],
            [x.threshold if x else None for x in r], [x.amount if x else None for x in r])
        await self.conn.execute(
            """INSERT INTO balances (owner_id, kind, partner_id, billing_model, currency)
               SELECT partner_id, 'partner', partner_id, billing_model, currency FROM partners
               WHERE partner_id = ANY($1::text[]) AND billing_model = 'partner_paid' ON CONFLICT DO NOTHING""",
            [e.partner_id for e in latest])
        await self._channel_balances("c.partner_id = ANY($1::text[])", [e.partner_id for e in latest])

    async def upsert_clients(self, events: Sequence[ClientUpserted]) -> None:
        if events:
            latest = list({e.client_id: e for e in events}.values())
            await self.conn.execute(
                """INSERT INTO clients SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                   ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, country = excluded.country""",
                [e.client_id for e in latest], [e.partner_id for e in latest], [e.name for e in latest],
                [e.billing_address.country for e in latest])

    async def upsert_channels(self, events: Sequence[ChannelAdded]) -> None:
        if not events:
            return
        latest = list({e.channel_id: e for e in events}.values())
        await self.conn.execute(
            """INSERT INTO channels (channel_id, client_id, partner_id, license, billing_started_at,
                                     renewal_threshold)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                                    $6::numeric[])
               ON CONFLICT (channel_id) DO UPDATE SET client_id = excluded.client_id,
                   partner_id = excluded.partner_id, license = excluded.license,
                   billing_started_at = excluded.billing_started_at,
                   renewal_threshold = excluded.renewal_threshold, cancelled_at = NULL""",
            [e.channel_id for e in latest], [e.client_id for e in latest], [e.partner_id for e in latest],
            [e.license for e in latest], [e.billing_started_at for e in latest],
            [e.auto_renewal.threshold if e.auto_renewal else None for e in latest])
        await self._channel_balances("c.channel_id = ANY($1::text[])", [e.channel_id for e in latest])

    async def _channel_balances(self, where: str, ids: list[str]) -> None:
        """Open the balance of every Direct-Paid channel named (its partner must be known)."""
        await self.conn.execute(
            f"""INSERT INTO balances (owner_id, kind, partner_id, client_id, billing_model, currency)
                SELECT c.channel_id, 'channel', c.partner_id, c.client_id, p.billing_model, p.currency
                FROM channels c JOIN partners p ON p.partner_id = c.partner_id
                WHERE {where} AND p.billing_model = 'direct_paid' ON CONFLICT DO NOTHING""", ids)
        await self._attribute_events()

    async def _attribute_events(self) -> None:
        # A balance event read before its balance was known gets its owners now.
        await self.conn.execute(
            """UPDATE balance_events e SET partner_id = b.partner_id, client_id = b.client_id
               FROM balances b WHERE e.partner_id IS NULL AND b.owner_id = e.owner_id
               AND EXISTS (SELECT 1 FROM balance_events WHERE partner_id IS NULL)""")

    async def cancel_channels(self, events: Sequence[ChannelCancelled]) -> None:
        if events:
            await self.conn.execute(
                "UPDATE channels c SET cancelled_at = u.at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) "
                "WHERE c.channel_id = u.id", [e.channel_id for e in events], [e.cancelled_at for e in events])

    async def move_balances(self, moves: Sequence[BalanceMoved]) -> None:
        if not moves:
            return
        newest: dict[str, BalanceMoved] = {}
        for m in moves:
            if m.balance.owner_id not in newest or newest[m.balance.owner_id].version < m.version:
                newest[m.balance.owner_id] = m
        ms = list(newest.values())
        await self.conn.execute(
            """INSERT INTO balances AS b (owner_id, kind, partner_id, client_id, billing_model, currency, amount,
                                          version, updated_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                    $7::numeric[], $8::bigint[], $9::timestamptz[])
               ON CONFLICT (owner_id) DO UPDATE SET amount = excluded.amount, version = excluded.version,
                   updated_at = excluded.updated_at WHERE b.version < excluded.version""",
            [m.balance.owner_id for m in ms], ["partner" if m.balance.partner_id else "channel" for m in ms],
            [m.partner_id for m in ms], [m.client_id for m in ms], [m.billing_model for m in ms],
            [m.currency for m in ms], [m.amount for m in ms], [m.version for m in ms], [m.updated_at for m in ms])
        await self._attribute_events()

    async def add_usage_days(self, days: Sequence[UsageDay]) -> None:
        if not days:
            return
        newest: dict[tuple, UsageDay] = {}
        for d in days:
            key = (d.channel_id, d.day, d.category)
            if key not in newest or newest[key].version < d.version:
                newest[key] = d
        ds = list(newest.values())
        await self.conn.execute(
            """INSERT INTO usage_days AS u SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::numeric[], $10::bigint[])
               ON CONFLICT (channel_id, day, category) DO UPDATE SET charged = excluded.charged,
                   free = excluded.free, amount = excluded.amount, version = excluded.version
               WHERE u.version < excluded.version""",
            [d.channel_id for d in ds], [d.day for d in ds], [d.category for d in ds], [d.partner_id for d in ds],
            [d.client_id for d in ds], [d.currency for d in ds], [d.charged for d in ds], [d.free for d in ds],
            [d.amount for d in ds], [d.version for d in ds])

    async def add_invoices(self, invoices: Sequence[tuple[Invoice, bytes]]) -> None:
        if not invoices:
            return
        rows = [(i, body) for i, body in {i.invoice_id: (i, b) for i, b in invoices}.values()]
        await self.conn.execute(
            """INSERT INTO invoices SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[],
                   $11::numeric[], $12::bytea[]) ON CONFLICT DO NOTHING""",
            [i.invoice_id for i, _ in rows], [i.number for i, _ in rows], [i.kind for i, _ in rows],
            [i.partner_id for i, _ in rows], [client_of(i) for i, _ in rows],
            [i.recipient.type for i, _ in rows], [i.recipient.id for i, _ in rows], [i.period for i, _ in rows],
            [i.issued_at for i, _ in rows], [i.currency for i, _ in rows], [i.total for i, _ in rows],
            [b for _, b in rows])

    async def add_documents(self, documents: Sequence[InvoiceDocument]) -> None:
        if not documents:
            return
        ds = list({(d.invoice_id, d.format): d for d in documents}.values())
        await self.conn.execute(
            """INSERT INTO invoice_documents SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::text[], $8::bytea[]) ON CONFLICT DO NOTHING""",
            [d.invoice_id for d in ds], [d.format for d in ds], [d.partner_id for d in ds],
            [None if d.recipient_id == d.partner_id else d.recipient_id for d in ds],
            [d.media_type for d in ds], [d.filename for d in ds], [d.sha256 for d in ds], [d.content for d in ds])

    async def add_balance_events(self, events: Sequence[BalanceEvent]) -> None:
        if not events:
            return
        topups = [e if isinstance(e, TopupRequested) else None for e in events]
        await self.conn.execute(
            """INSERT INTO balance_events (event_id, owner_id, partner_id, client_id, type, amount, at, request_id,
                                           requested)
               SELECT u.id, u.owner, b.partner_id, b.client_id, u.type, u.amount, u.at, u.rid, u.req
               FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[],
                           $7::numeric[]) AS u(id, owner, type, amount, at, rid, req)
               LEFT JOIN balances b ON b.owner_id = u.owner ON CONFLICT DO NOTHING""",
            [e.event_id for e in events], [e.balance.owner_id for e in events], [e.type for e in events],
            [e.balance_amount for e in events], [e.at for e in events],
            [t.request_id if t else None for t in topups], [t.amount if t else None for t in topups])

    async def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            await self.conn.execute(
                """INSERT INTO payments SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                       $5::text[], $6::numeric[], $7::text[], $8::timestamptz[], $9::text[]) ON CONFLICT DO NOTHING""",
                [e.kind for e in entries], [e.entry_id for e in entries], [e.balance.owner_id for e in entries],
                [e.partner_id for e in entries], [e.client_id for e in entries], [e.amount for e in entries],
                [e.method for e in entries], [e.occurred_at for e in entries],
                [e.topup_request_id for e in entries])

    async def add_dead_letters(self, letters: Sequence[tuple[str, DeadLetter]]) -> None:
        if letters:
            await self.conn.execute(
                """INSERT INTO dead_letters (source_topic, partition, "offset", code, dlq_topic, failed_at)
                   SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[],
                                        $6::timestamptz[]) ON CONFLICT DO NOTHING""",
                [d.source.topic for _, d in letters], [d.source.partition for _, d in letters],
                [d.source.offset for _, d in letters], [str(d.error.code) for _, d in letters],
                [t for t, _ in letters], [d.failed_at for _, d in letters])

    async def note_months(self, month: str, field: str, at: datetime, balances: int | None = None) -> None:
        assert field in _MONTH_FIELDS
        await self.conn.execute(
            f"""INSERT INTO months (month, {field}, balances) VALUES ($1, $2, $3)
                ON CONFLICT (month) DO UPDATE SET {field} = coalesce(months.{field}, excluded.{field}),
                    balances = coalesce(excluded.balances, months.balances)""", month, at, balances)

    async def add_reconciliation(self, runs: Sequence[ReconciliationRan]) -> None:
        for r in runs:
            await self.conn.execute(
                "INSERT INTO reconciliation_runs (run_id, ran_at, checks) VALUES ($1, $2, $3::jsonb) "
                "ON CONFLICT DO NOTHING", r.run_id, r.ran_at,
                json.dumps([c.model_dump(mode="json") for c in r.checks]))

    async def touch(self, topic: str, latest_event_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO model_state VALUES ($1, $2) ON CONFLICT (topic) DO UPDATE "
            "SET latest_event_at = greatest(model_state.latest_event_at, excluded.latest_event_at)",
            topic, latest_event_at)


def client_of(invoice: Invoice) -> str | None:
    """The client an invoice is addressed to or about (a client sees it); None for a partner's own."""
    if invoice.recipient.type == "client":
        return invoice.recipient.id
    return None


def unit_of_work(pool: Callable[[], asyncpg.Pool]):
    @asynccontextmanager
    async def transaction() -> AsyncIterator[PostgresModelStore]:
        async with stored_positions.transaction(pool()) as conn:  # with the batch's positions, if any
            yield PostgresModelStore(conn)

    return transaction
