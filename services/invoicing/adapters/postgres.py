"""Invoicing's store on PostgreSQL."""

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal

import asyncpg
from aiokafka import TopicPartition

from shared import published_positions, stored_positions
from shared.contracts import (BalanceClosing, ChannelAdded, ChannelCancelled, ClientUpserted, Invoice,
                              PartnerUpserted, encode)
from shared.months import next_month
from shared.outbox import OutboxRecord, enqueue
from shared.topics import INVOICES

from ..documents.model import Address, Document
from ..domain.directory import Channel, Client, Partner
from ..ports import Close, DocumentSource, HeldCredit

# Where each number series is kept: one row per year, moved in the transaction that records its invoice.
# A restore that learns numbers back from billing.invoices.v1 sets these rows (INV-… and CN-…).
SEQUENCES = {"INV": "invoice_numbers", "CN": "credit_note_numbers"}


def _offsets(value: str | None) -> dict[int, int] | None:
    return {int(k): v for k, v in json.loads(value).items()} if value is not None else None


class PostgresInvoiceStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert_partner(self, e: PartnerUpserted) -> None:
        await self.conn.execute(
            """INSERT INTO partners VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (partner_id) DO UPDATE SET name = excluded.name, plan = excluded.plan,
                   country = excluded.country, vat_id = excluded.vat_id""",
            e.partner_id, e.name, e.billing_model, e.currency, e.plan, e.created_at, e.billing_address.country,
            e.billing_address.vat_id)

    async def upsert_client(self, e: ClientUpserted) -> None:
        await self.conn.execute(
            """INSERT INTO clients VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (client_id) DO UPDATE SET partner_id = excluded.partner_id, name = excluded.name,
                   country = excluded.country, vat_id = excluded.vat_id""",
            e.client_id, e.partner_id, e.name, e.billing_address.country, e.billing_address.vat_id)

    async def upsert_channel(self, e: ChannelAdded) -> None:
        await self.conn.execute(
            """INSERT INTO channels VALUES ($1, $2, $3, $4, $5, NULL)
               ON CONFLICT (channel_id) DO UPDATE SET partner_id = excluded.partner_id,
                   client_id = excluded.client_id, license = excluded.license,
                   billing_started_at = excluded.billing_started_at""",
            e.channel_id, e.partner_id, e.client_id, e.license, e.billing_started_at)

    async def cancel_channel(self, e: ChannelCancelled) -> None:
        await self.conn.execute("UPDATE channels SET cancelled_at = $2 WHERE channel_id = $1",
                                e.channel_id, e.cancelled_at)

    async def partner(self, partner_id: str) -> Partner | None:
        row = await self.conn.fetchrow("SELECT * FROM partners WHERE partner_id = $1", partner_id)
        return Partner(*row.values()) if row else None

    async def client(self, client_id: str) -> Client | None:
        row = await self.conn.fetchrow("SELECT * FROM clients WHERE client_id = $1", client_id)
        return Client(*row.values()) if row else None

    async def channel(self, channel_id: str) -> Channel | None:
        row = await self.conn.fetchrow("SELECT * FROM channels WHERE channel_id = $1", channel_id)
        return Channel(*row.values()) if row else None

    async def directory(self) -> tuple[list[Partner], list[Channel], dict[str, Client]]:
        partners = [Partner(*r.values()) for r in await self.conn.fetch("SELECT * FROM partners")]
        channels = [Channel(*r.values()) for r in await self.conn.fetch("SELECT * FROM channels")]
        clients = {r["client_id"]: Client(*r.values()) for r in await self.conn.fetch("SELECT * FROM clients")}
        return partners, channels, clients

    async def billed(self) -> set[tuple[str, str, str]]:
        return {(r["item"], r["subject_id"], r["month"])
                for r in await self.conn.fetch("SELECT item, subject_id, month FROM billed")}

    async def mark_billed(self, items: Sequence[tuple[str, str, str]], invoice_id: str) -> None:
        await self.conn.execute(
            "INSERT INTO billed SELECT *, $4::uuid FROM unnest($1::text[], $2::text[], $3::text[])",
            [i for i, _, _ in items], [s for _, s, _ in items], [m for _, _, m in items], invoice_id)

    async def has_invoice(self, invoice_id: str) -> bool:
        return await self.conn.fetchval("SELECT true FROM invoices WHERE invoice_id = $1", invoice_id) is not None

    async def next_number(self, year: int, series: str = "INV") -> str:
        table = SEQUENCES[series]
        n = await self.conn.fetchval(
            f"INSERT INTO {table} VALUES ($1, 1) ON CONFLICT (year) "
            f"DO UPDATE SET last = {table}.last + 1 RETURNING last", year)
        return f"{series}-{year}-{n:06d}"

    async def save_invoice(self, invoice: Invoice) -> None:
        value = encode(invoice)
        await self._record(invoice, value)
        await enqueue(self.conn, [OutboxRecord(INVOICES.name, invoice.recipient.id.encode(), value)])

    async def _record(self, invoice: Invoice, value: bytes) -> None:
        # Queued for its documents in the same statement (one round trip: a close issues thousands).
        await self.conn.execute(
            "WITH issued AS (INSERT INTO invoices VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING invoice_id) "
            "INSERT INTO documents_pending (invoice_id) SELECT invoice_id FROM issued",
            invoice.invoice_id, invoice.number, invoice.kind, invoice.recipient.id, invoice.partner_id,
            invoice.period, invoice.issued_at, value.decode())

    async def save_address(self, recipient_type: str, recipient_id: str, address: Address | None) -> None:
        if address is None:
            await self.conn.execute("DELETE FROM recipient_addresses WHERE recipient_type = $1 AND "
                                    "recipient_id = $2", recipient_type, recipient_id)
            return
        await self.conn.execute(
            """INSERT INTO recipient_addresses VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (recipient_type, recipient_id) DO UPDATE SET street = excluded.street,
                   postcode = excluded.postcode, city = excluded.city, email = excluded.email""",
            recipient_type, recipient_id, address.street, address.postcode, address.city, address.email)

    async def pending_documents(self, limit: int) -> list[DocumentSource]:
        rows = await self.conn.fetch(
            """SELECT p.invoice_id::text, i.invoice::text AS message, a.street, a.postcode, a.city, a.email,
                      c.issued_at AS corrected_issued_at
               FROM documents_pending p JOIN invoices i USING (invoice_id)
               LEFT JOIN recipient_addresses a ON a.recipient_type = i.invoice->'recipient'->>'type'
                    AND a.recipient_id = i.recipient_id
               LEFT JOIN invoices c ON c.invoice_id::text = i.invoice->'corrects'->>'invoice_id'
               ORDER BY p.queued_at, p.invoice_id LIMIT $1 FOR UPDATE OF p SKIP LOCKED""", limit)
        return [DocumentSource(r["invoice_id"], json.loads(r["message"]),
                               Address(r["street"], r["postcode"], r["city"], r["email"])
                               if any(r[k] for k in ("street", "postcode", "city", "email")) else None,
                               r["corrected_issued_at"]) for r in rows]

    async def save_documents(self, invoice_id: str, documents: Sequence[Document]) -> None:
        await self.conn.execute(
            """INSERT INTO documents (invoice_id, format, filename, media_type, content, sha256, size)
               SELECT $1::uuid, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::int[])
               ON CONFLICT (invoice_id, format) DO NOTHING""",
            invoice_id, [d.format for d in documents], [d.filename for d in documents],
            [d.media_type for d in documents], [d.content for d in documents], [d.sha256 for d in documents],
            [len(d.content) for d in documents])
        await self.conn.execute("DELETE FROM documents_pending WHERE invoice_id = $1", invoice_id)

    async def documents_pending(self, month: str) -> int:
        return await self.conn.fetchval(
            """SELECT count(*) FROM documents_pending p JOIN invoices i USING (invoice_id)
               WHERE (i.period = $1 AND i.kind = 'month_closing')
                  OR (i.period = $2 AND i.kind IN ('subscription', 'license', 'partner_plan'))""",
            month, next_month(month))

    async def emit(self, records: Sequence[OutboxRecord]) -> None:
        await enqueue(self.conn, records)

    async def outbox_pending(self, topic: str) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", topic)

    async def invoice(self, invoice_id: str) -> Invoice | None:
        value = await self.conn.fetchval(
            "SELECT invoice::text FROM invoices WHERE invoice_id = $1::uuid FOR UPDATE", invoice_id)
        return Invoice.model_validate_json(value) if value is not None else None

    async def credited(self, invoice_id: str) -> dict[int, Decimal]:
        rows = await self.conn.fetch("SELECT line, credited FROM line_credits WHERE invoice_id = $1::uuid",
                                     invoice_id)
        return {r["line"]: r["credited"] for r in rows}

    async def record_credits(self, credit_note_id: str, invoice: Invoice,
                             credits: Sequence[tuple[int, Decimal]]) -> None:
        lines, amounts = [n for n, _ in credits], [a for _, a in credits]
        await self.conn.execute(
            "INSERT INTO credit_lines SELECT $1::uuid, $2::uuid, * FROM unnest($3::int[], $4::numeric[])",
            credit_note_id, invoice.invoice_id, lines, amounts)
        await self.conn.execute(
            "INSERT INTO line_credits SELECT $1::uuid, * FROM unnest($2::int[], $3::numeric[], $4::numeric[]) "
            "ON CONFLICT (invoice_id, line) DO UPDATE SET credited = line_credits.credited + excluded.credited",
            invoice.invoice_id, lines, [invoice.lines[n].amount for n in lines], amounts)

    async def hold_credit(self, held: HeldCredit) -> None:
        await self.conn.execute(
            "INSERT INTO held_credits VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            held.topic, held.partition, held.offset, held.key, held.value, held.invoice_id, held.held_at)

    async def holds_credit_for(self, invoice_id: str) -> bool:
        return await self.conn.fetchval("SELECT true FROM held_credits WHERE invoice_id = $1 LIMIT 1",
                                        invoice_id) is not None

    async def held_credits(self, limit: int) -> list[HeldCredit]:
        rows = await self.conn.fetch(
            'SELECT topic, partition, "offset", key, value, invoice_id, held_at FROM held_credits '
            'ORDER BY topic, partition, "offset" LIMIT $1 FOR UPDATE SKIP LOCKED', limit)
        return [HeldCredit(*r.values()) for r in rows]

    async def release_credits(self, held: Sequence[HeldCredit]) -> None:
        if held:
            await self.conn.execute(
                'DELETE FROM held_credits WHERE (topic, partition, "offset") IN '
                "(SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))",
                [h.topic for h in held], [h.partition for h in held], [h.offset for h in held])

    async def closes(self) -> list[Close]:
        rows = await self.conn.fetch(
            "SELECT month, command_id, state, status_offsets::text, payment_offsets::text, priced_offsets::text, "
            "directory_offsets::text, ratecard_offsets::text, credit_offsets::text "
            "FROM closes WHERE state <> 'done' ORDER BY month FOR UPDATE SKIP LOCKED")
        return [Close(r["month"], r["command_id"], r["state"], _offsets(r["status_offsets"]) or {},
                      _offsets(r["payment_offsets"]) or {}, _offsets(r["priced_offsets"]),
                      _offsets(r["directory_offsets"]) or {}, _offsets(r["ratecard_offsets"]) or {},
                      _offsets(r["credit_offsets"]) or {})
                for r in rows]

    async def last_closed(self) -> str | None:
        return await self.conn.fetchval("SELECT max(month) FROM closes WHERE state = 'done'")

    async def latest_close(self) -> str | None:
        return await self.conn.fetchval("SELECT max(month) FROM closes")

    async def close_state(self, month: str) -> str | None:
        return await self.conn.fetchval("SELECT state FROM closes WHERE month = $1", month)

    async def waiting_close(self, month: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT command_id FROM closes WHERE month = $1 AND state = 'ledger' FOR UPDATE", month)

    async def request_close(self, close: Close) -> None:
        await self.conn.execute(
            "INSERT INTO closes (month, command_id, state, status_offsets, payment_offsets, directory_offsets, "
            "ratecard_offsets) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb) ON CONFLICT DO NOTHING",
            close.month, close.command_id, close.state, json.dumps(close.status_offsets),
            json.dumps(close.payment_offsets), json.dumps(close.directory_offsets),
            json.dumps(close.ratecard_offsets))

    async def update_close(self, month: str, state: str, priced_offsets: dict[int, int] | None = None,
                           done_at: datetime | None = None, credit_offsets: dict[int, int] | None = None) -> None:
        await self.conn.execute(
            "UPDATE closes SET state = $2, priced_offsets = coalesce($3::jsonb, priced_offsets), "
            "done_at = coalesce($4, done_at), credit_offsets = coalesce($5::jsonb, credit_offsets) WHERE month = $1",
            month, state, json.dumps(priced_offsets) if priced_offsets is not None else None, done_at,
            json.dumps(credit_offsets) if credit_offsets is not None else None)

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None:
        await self.conn.execute(
            "INSERT INTO ledger_closings SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) "
            "ON CONFLICT DO NOTHING", [c.month for c in closings], [c.balance.owner_id for c in closings],
            [c.model_dump_json() for c in closings])

    async def closings(self, month: str) -> dict[str, BalanceClosing]:
        rows = await self.conn.fetch("SELECT owner_id, closing::text FROM ledger_closings WHERE month = $1", month)
        return {r["owner_id"]: BalanceClosing.model_validate_json(r["closing"]) for r in rows}


    # -- recovery after a restore (services/invoicing/recovery.py) ----------------------------

    async def hold_recovery_lock(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('invoicing.recovery'))")

    async def origin(self) -> str:
        return await published_positions.origin(self.conn)

    async def published_reach(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        return await published_positions.recorded(self.conn, topics)

    async def advance_reach(self, positions: dict[TopicPartition, int], only_new: bool = False) -> None:
        await published_positions.advance(self.conn, positions, only_new)

    async def invoice_number(self, invoice_id: str) -> str | None:
        return await self.conn.fetchval("SELECT number FROM invoices WHERE invoice_id = $1", invoice_id)

    async def record_published(self, invoice: Invoice, value: bytes, billed: Sequence[tuple[str, str, str]]) -> None:
        await self._record(invoice, value)  # its documents made again: deterministic given the invoice
        if billed:
            await self.conn.execute(
                "INSERT INTO billed SELECT *, $4::uuid FROM unnest($1::text[], $2::text[], $3::text[]) "
                "ON CONFLICT DO NOTHING",
                [i for i, _, _ in billed], [s for _, s, _ in billed], [m for _, _, m in billed], invoice.invoice_id)

    async def raise_sequence(self, prefix: str, year: int, n: int) -> None:
        table = SEQUENCES.get(prefix)
        if table is None:
            raise ValueError(f"no number sequence for the prefix {prefix}")
        await self.conn.execute(
            f"INSERT INTO {table} VALUES ($1, $2) ON CONFLICT (year) "
            f"DO UPDATE SET last = greatest({table}.last, excluded.last)", year, n)


def unit_of_work(pool: Callable[[], asyncpg.Pool]):
    @asynccontextmanager
    async def transaction() -> AsyncIterator[PostgresInvoiceStore]:
        async with stored_positions.transaction(pool()) as conn:  # with the batch's positions, if any
            yield PostgresInvoiceStore(conn)

    return transaction
