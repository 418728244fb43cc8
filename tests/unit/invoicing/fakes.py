"""In-memory fakes of the invoicing ports, with the PostgreSQL adapter's semantics.

`FakeInvoiceStore` keeps every table of `migrations/0002_invoices.sql`, the
credit-note tables of `0005_credit_notes.sql` (and the outbox of
`0001_outbox.sql`) as plain Python containers and implements every
method of `ports.InvoiceStore` the way `adapters/postgres.py` does: upserts
that keep what their `ON CONFLICT` clause keeps, a `billed` primary key and
unique invoice ids and numbers that raise, one number sequence per series and
year, the `line_credits` CHECK that refuses an over-credit,
closes oldest first. `FakeUnitOfWork` wraps it in "transactions": a block that
raises leaves the store exactly as it found it. `FakeOffsets` is the Kafka
positions the close's barrier reads; a test sets them. `Feed` turns dicts into
the `Accepted` batches the use cases take, through the contract's own `decode`.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiokafka import TopicPartition

from shared.contracts import (BalanceClosing, ChannelAdded, ChannelCancelled, ClientUpserted, Invoice,
                              PartnerUpserted, decode, encode)
from shared.dead_letters import Accepted
from shared.outbox import OutboxRecord
from shared.topics import COMMANDS, INVOICES, LEDGER_CLOSED, LEDGER_ENTRIES

from services.invoicing.domain.directory import Channel, Client, Partner
from services.invoicing.documents.model import Address, Document
from services.invoicing.ports import Close, DocumentSource, HeldCredit
from shared.months import next_month
from tests.unit.fakes import Feed as _Feed
from tests.unit.fakes import FakeStore, StoreFailure
from tests.unit.fakes import FakeUnitOfWork as _FakeUnitOfWork


def _uuid(value: str) -> None:
    """What PostgreSQL's uuid cast refuses."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise StoreFailure(f"invalid input syntax for type uuid: {value!r}") from None


@dataclass
class CloseRow:
    """One row of `closes`."""

    month: str
    command_id: str
    state: str
    status_offsets: dict[int, int]
    payment_offsets: dict[int, int]
    priced_offsets: dict[int, int] | None = None
    done_at: datetime | None = None
    directory_offsets: dict[int, int] = field(default_factory=dict)
    ratecard_offsets: dict[int, int] = field(default_factory=dict)
    credit_offsets: dict[int, int] = field(default_factory=dict)


_CLOSE_STATES = ("barrier", "debits", "ledger", "documents", "done")
_BILLED_ITEMS = ("license", "plan")
_STATE = ("partners", "clients", "channels", "billed_rows", "invoice_numbers", "invoices", "closes_rows",
          "ledger_closings", "outbox", "addresses", "documents", "pending", "credit_note_numbers", "credit_lines",
          "line_credits", "held", "reach", "published_values")


class FakeInvoiceStore(FakeStore):
    """Every table of the invoicing schema, in memory; the PostgreSQL adapter's semantics."""

    STATE = _STATE

    def __init__(self) -> None:
        super().__init__()
        self.partners: dict[str, Partner] = {}
        self.clients: dict[str, Client] = {}
        self.channels: dict[str, Channel] = {}
        self.billed_rows: dict[tuple[str, str, str], str] = {}  # (item, subject, month) → invoice id
        self.invoice_numbers: dict[int, int] = {}  # year → last number
        self.credit_note_numbers: dict[int, int] = {}  # year → last number of the CN- series
        self.invoices: dict[str, Invoice] = {}  # invoice id → invoice, in insertion order
        self.closes_rows: dict[str, CloseRow] = {}  # month → close
        self.ledger_closings: dict[tuple[str, str], str] = {}  # (month, owner) → the closing as JSON
        self.outbox: list[OutboxRecord] = []
        self.addresses: dict[tuple[str, str], Address] = {}  # (recipient type, id) → address
        self.documents: dict[tuple[str, str], Document] = {}  # (invoice id, format) → document
        self.pending: dict[str, None] = {}  # invoices waiting for documents, in queue order

        self.credit_lines: dict[tuple[str, int], tuple[str, Decimal]] = {}  # (note, line) → (invoice, amount)
        self.line_credits: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}  # (invoice, line) → invoiced, credited
        self.held: dict[tuple[str, int, int], HeldCredit] = {}
        self.published: list[OutboxRecord] = []  # what the relay took (not transactional: not in STATE)
        self.reach: dict[TopicPartition, int] = {}  # published_positions
        self.published_values: dict[str, bytes] = {}  # invoice id → the value recorded by record_published

    # -- directory ---------------------------------------------------------------------------

    async def upsert_partner(self, e: PartnerUpserted) -> None:
        self._call("upsert_partner")
        known = self.partners.get(e.partner_id)
        if known is None:
            self.partners[e.partner_id] = Partner(e.partner_id, e.name, e.billing_model, e.currency, e.plan,
                                                  e.created_at, e.billing_address.country, e.billing_address.vat_id)
        else:  # ON CONFLICT DO UPDATE SET name, plan, country, vat_id: model, currency, created_at stay
            self.partners[e.partner_id] = replace(known, name=e.name, plan=e.plan,
                                                  country=e.billing_address.country,
                                                  vat_id=e.billing_address.vat_id)

    async def upsert_client(self, e: ClientUpserted) -> None:
        self._call("upsert_client")
        self.clients[e.client_id] = Client(e.client_id, e.partner_id, e.name, e.billing_address.country,
                                           e.billing_address.vat_id)

    async def upsert_channel(self, e: ChannelAdded) -> None:
        self._call("upsert_channel")
        known = self.channels.get(e.channel_id)
        # ON CONFLICT DO UPDATE SET partner, client, license, billing_started_at: a cancellation stays.
        self.channels[e.channel_id] = Channel(e.channel_id, e.partner_id, e.client_id, e.license,
                                              e.billing_started_at, known.cancelled_at if known else None)

    async def cancel_channel(self, e: ChannelCancelled) -> None:
        self._call("cancel_channel")
        known = self.channels.get(e.channel_id)
        if known is not None:  # UPDATE … WHERE channel_id: nothing to update otherwise
            self.channels[e.channel_id] = replace(known, cancelled_at=e.cancelled_at)

    async def partner(self, partner_id: str) -> Partner | None:
        self._call("partner")
        return self.partners.get(partner_id)

    async def client(self, client_id: str) -> Client | None:
        self._call("client")
        return self.clients.get(client_id)

    async def channel(self, channel_id: str) -> Channel | None:
        self._call("channel")
        return self.channels.get(channel_id)

    async def directory(self) -> tuple[list[Partner], list[Channel], dict[str, Client]]:
        self._call("directory")
        return list(self.partners.values()), list(self.channels.values()), dict(self.clients)

    # -- billed items and invoices -----------------------------------------------------------

    async def billed(self) -> set[tuple[str, str, str]]:
        self._call("billed")
        return set(self.billed_rows)

    async def mark_billed(self, items: Sequence[tuple[str, str, str]], invoice_id: str) -> None:
        self._call("mark_billed")
        rows = dict(self.billed_rows)
        for item in items:
            if item[0] not in _BILLED_ITEMS:
                raise StoreFailure(f"billed.item check violated: {item[0]}")
            if item in rows:
                raise StoreFailure(f"billed primary key violated: {item}")
            rows[tuple(item)] = invoice_id
        self.billed_rows = rows  # one statement: all rows or none

    async def has_invoice(self, invoice_id: str) -> bool:
        self._call("has_invoice")
        return invoice_id in self.invoices

    async def next_number(self, year: int, series: str = "INV") -> str:
        self._call("next_number")
        sequence = self._sequences()[series]
        sequence[year] = sequence.get(year, 0) + 1
        return f"{series}-{year}-{sequence[year]:06d}"

    async def save_invoice(self, invoice: Invoice) -> None:
        self._call("save_invoice")
        if invoice.invoice_id in self.invoices:
            raise StoreFailure(f"invoices primary key violated: {invoice.invoice_id}")
        if invoice.number in {i.number for i in self.invoices.values()}:
            raise StoreFailure(f"invoices.number unique violated: {invoice.number}")
        self.invoices[invoice.invoice_id] = invoice
        self.outbox.append(OutboxRecord(INVOICES.name, invoice.recipient.id.encode(), encode(invoice)))
        self.pending[invoice.invoice_id] = None

    async def save_address(self, recipient_type: str, recipient_id: str, address: Address | None) -> None:
        self._call("save_address")
        if address is None:
            self.addresses.pop((recipient_type, recipient_id), None)
        else:
            self.addresses[(recipient_type, recipient_id)] = address

    async def pending_documents(self, limit: int) -> list[DocumentSource]:
        self._call("pending_documents")
        sources = []
        for invoice_id in list(self.pending)[:limit]:
            message = json.loads(encode(self.invoices[invoice_id]))
            recipient = message["recipient"]
            corrects = message.get("corrects")
            corrected = self.invoices.get(corrects["invoice_id"]) if corrects else None
            sources.append(DocumentSource(invoice_id, message, self.addresses.get((recipient["type"], recipient["id"])),
                                          corrected.issued_at if corrected else None))
        return sources

    async def save_documents(self, invoice_id: str, documents: Sequence[Document]) -> None:
        self._call("save_documents")
        for d in documents:  # ON CONFLICT (invoice_id, format) DO NOTHING: a stored document never changes
            self.documents.setdefault((invoice_id, d.format), d)
        self.pending.pop(invoice_id, None)

    async def documents_pending(self, month: str) -> int:
        self._call("documents_pending")
        following = next_month(month)
        return sum(1 for i in self.pending if (self.invoices[i].period, self.invoices[i].kind) in
                   {(month, "month_closing"), (following, "subscription"), (following, "license"),
                    (following, "partner_plan")})

    async def emit(self, records: Sequence[OutboxRecord]) -> None:
        self._call("emit")
        self.outbox.extend(records)

    async def outbox_pending(self, topic: str) -> int:
        self._call("outbox_pending")
        return sum(1 for r in self.outbox if r.topic == topic and r not in self.published)

    # -- credit notes ------------------------------------------------------------------------

    async def invoice(self, invoice_id: str) -> Invoice | None:
        self._call("invoice")
        _uuid(invoice_id)  # $1::uuid
        return self.invoices.get(invoice_id)

    async def credited(self, invoice_id: str) -> dict[int, Decimal]:
        self._call("credited")
        return {line: credited for (iid, line), (_, credited) in self.line_credits.items() if iid == invoice_id}

    async def record_credits(self, credit_note_id: str, invoice: Invoice,
                             credits: Sequence[tuple[int, Decimal]]) -> None:
        self._call("record_credits")
        lines, totals = dict(self.credit_lines), dict(self.line_credits)
        for line, amount in credits:
            if credit_note_id not in self.invoices or amount <= 0 or (credit_note_id, line) in lines:
                raise StoreFailure(f"credit_lines constraint violated: {credit_note_id} line {line}")
            lines[(credit_note_id, line)] = (invoice.invoice_id, amount)
            invoiced, before = totals.get((invoice.invoice_id, line), (invoice.lines[line].amount, Decimal(0)))
            if not 0 < before + amount <= invoiced:
                raise StoreFailure(f"line_credits check violated: {invoice.invoice_id} line {line}")
            totals[(invoice.invoice_id, line)] = (invoiced, before + amount)
        self.credit_lines, self.line_credits = lines, totals  # two statements, one transaction

    async def hold_credit(self, held: HeldCredit) -> None:
        self._call("hold_credit")
        self.held.setdefault((held.topic, held.partition, held.offset), held)  # ON CONFLICT DO NOTHING

    async def holds_credit_for(self, invoice_id: str) -> bool:
        self._call("holds_credit_for")
        return any(h.invoice_id == invoice_id for h in self.held.values())

    async def held_credits(self, limit: int) -> list[HeldCredit]:
        self._call("held_credits")
        return [self.held[k] for k in sorted(self.held)][:limit]

    async def release_credits(self, held: Sequence[HeldCredit]) -> None:
        self._call("release_credits")
        for h in held:
            self.held.pop((h.topic, h.partition, h.offset), None)

    # -- month closes ------------------------------------------------------------------------

    async def closes(self) -> list[Close]:
        self._call("closes")
        return [Close(r.month, r.command_id, r.state, dict(r.status_offsets), dict(r.payment_offsets),
                      dict(r.priced_offsets) if r.priced_offsets is not None else None,
                      dict(r.directory_offsets), dict(r.ratecard_offsets), dict(r.credit_offsets))
                for r in sorted(self.closes_rows.values(), key=lambda r: r.month) if r.state != "done"]

    async def last_closed(self) -> str | None:
        self._call("last_closed")
        return max((r.month for r in self.closes_rows.values() if r.state == "done"), default=None)

    async def latest_close(self) -> str | None:
        self._call("latest_close")
        return max(self.closes_rows, default=None)

    async def close_state(self, month: str) -> str | None:
        self._call("close_state")
        row = self.closes_rows.get(month)
        return row.state if row else None

    async def waiting_close(self, month: str) -> str | None:
        self._call("waiting_close")
        row = self.closes_rows.get(month)
        return row.command_id if row is not None and row.state == "ledger" else None

    async def request_close(self, close: Close) -> None:
        self._call("request_close")
        if close.state not in _CLOSE_STATES:
            raise StoreFailure(f"closes.state check violated: {close.state}")
        # INSERT (month, command_id, state, status_offsets, payment_offsets, directory_offsets,
        # ratecard_offsets) ON CONFLICT DO NOTHING
        self.closes_rows.setdefault(close.month, CloseRow(
            close.month, close.command_id, close.state, dict(close.status_offsets), dict(close.payment_offsets),
            directory_offsets=dict(close.directory_offsets), ratecard_offsets=dict(close.ratecard_offsets)))

    async def update_close(self, month: str, state: str, priced_offsets: dict[int, int] | None = None,
                           done_at: datetime | None = None, credit_offsets: dict[int, int] | None = None) -> None:
        self._call("update_close")
        if state not in _CLOSE_STATES:
            raise StoreFailure(f"closes.state check violated: {state}")
        row = self.closes_rows.get(month)
        if row is None:
            return
        row.state = state
        if priced_offsets is not None:  # coalesce($3, priced_offsets)
            row.priced_offsets = dict(priced_offsets)
        if done_at is not None:
            row.done_at = done_at
        if credit_offsets is not None:
            row.credit_offsets = dict(credit_offsets)

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None:
        self._call("save_closings")
        for c in closings:  # ON CONFLICT (month, owner_id) DO NOTHING
            self.ledger_closings.setdefault((c.month, c.balance.owner_id), c.model_dump_json())

    async def closings(self, month: str) -> dict[str, BalanceClosing]:
        self._call("closings")
        return {owner: BalanceClosing.model_validate_json(text)
                for (m, owner), text in self.ledger_closings.items() if m == month}

    # -- recovery ----------------------------------------------------------------------------

    async def hold_recovery_lock(self) -> None:
        self._call("hold_recovery_lock")

    async def origin(self) -> str:
        return "this-database"

    async def published_reach(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        self._call("published_reach")
        return {tp: o for tp, o in self.reach.items() if tp.topic in topics}

    async def advance_reach(self, positions: dict[TopicPartition, int], only_new: bool = False) -> None:
        self._call("advance_reach")
        for tp, o in positions.items():  # ON CONFLICT DO NOTHING, or DO UPDATE greatest(...)
            self.reach[tp] = self.reach.get(tp, o) if only_new else max(self.reach.get(tp, o), o)

    async def invoice_number(self, invoice_id: str) -> str | None:
        self._call("invoice_number")
        known = self.invoices.get(invoice_id)
        return known.number if known else None

    async def record_published(self, invoice: Invoice, value: bytes, billed: Sequence[tuple[str, str, str]]) -> None:
        self._call("record_published")
        if invoice.invoice_id in self.invoices:
            raise StoreFailure(f"invoices primary key violated: {invoice.invoice_id}")
        if invoice.number in {i.number for i in self.invoices.values()}:
            raise StoreFailure(f"invoices.number unique violated: {invoice.number}")
        self.invoices[invoice.invoice_id] = invoice
        self.published_values[invoice.invoice_id] = value
        self.pending[invoice.invoice_id] = None  # its documents are made again (they are deterministic)
        for item in billed:  # ON CONFLICT DO NOTHING
            self.billed_rows.setdefault(tuple(item), invoice.invoice_id)

    async def raise_sequence(self, prefix: str, year: int, n: int) -> None:
        self._call("raise_sequence")
        sequences = self._sequences()
        if prefix not in sequences:
            raise ValueError(f"no number sequence for the prefix {prefix}")
        sequences[prefix][year] = max(sequences[prefix].get(year, 0), n)

    def _sequences(self) -> dict[str, dict[int, int]]:
        """Prefix → (year → last number), as adapters/postgres.SEQUENCES maps them to tables."""
        return {"INV": self.invoice_numbers, "CN": self.credit_note_numbers}

    # -- reading helpers for tests -----------------------------------------------------------

    def issued(self) -> list[Invoice]:
        """Every invoice queued for publication, in the order it was issued."""
        return [decode(INVOICES.name, r.value) for r in self.outbox if r.topic == INVOICES.name]

    def numbers(self) -> list[str]:
        return [i.number for i in self.invoices.values()]

    def relay(self) -> None:
        """The outbox relay published everything queued so far."""
        self.published = list(self.outbox)


class FakeUnitOfWork(_FakeUnitOfWork[FakeInvoiceStore]):
    """A `ports.UnitOfWork` over one FakeInvoiceStore: commit on normal exit, roll back on an exception."""

    def __init__(self, store: FakeInvoiceStore | None = None) -> None:
        super().__init__(store or FakeInvoiceStore())


class FakeOffsets:
    """`ports.Offsets`: the end offsets of each topic and the committed offsets of each (group, topic),
    as the test sets them; a topic or group never set has none."""

    def __init__(self) -> None:
        self.ends: dict[str, dict[int, int]] = {}
        self.commits: dict[tuple[str, str], dict[int, int]] = {}
        self.calls: list[tuple[str, ...]] = []

    def set_end(self, topic: str, offsets: dict[int, int]) -> None:
        self.ends[topic] = dict(offsets)

    def commit(self, group_id: str, topic: str, offsets: dict[int, int]) -> None:
        self.commits[(group_id, topic)] = dict(offsets)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        self.calls.append(("end_offsets", topic))
        return dict(self.ends.get(topic, {}))

    async def committed(self, group_id: str, topic: str) -> dict[int, int]:
        self.calls.append(("committed", group_id, topic))
        return dict(self.commits.get((group_id, topic), {}))


class Feed(_Feed):
    """Batches of this service's inputs."""

    def entries(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(LEDGER_ENTRIES.name, b["balance"].get("partner_id") or b["balance"]["channel_id"], b)
                for b in bodies]

    def commands(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(COMMANDS.name, b["month"], b) for b in bodies]

    def closed(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(LEDGER_CLOSED.name, b["month"], b) for b in bodies]


async def fake_renderer(sources: Sequence[DocumentSource]) -> list[list[Document]]:
    """`ports.Renderer` without the PDF: one small stand-in document per invoice, derived from its number."""
    return [[Document("pdf", f"{s.message['number']}.pdf", f"%PDF {s.message['number']}".encode())]
            for s in sources]
