"""What the invoicing service needs from the outside world, as protocols."""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from aiokafka import ConsumerRecord, TopicPartition

from shared.contracts import BalanceClosing, ChannelAdded, ChannelCancelled, ClientUpserted, Invoice, PartnerUpserted
from shared.outbox import OutboxRecord

from .documents.model import Address, Document
from .domain.directory import Channel, Client, Partner


@dataclass(frozen=True, slots=True)
class DocumentSource:
    """An invoice whose documents are to be made, with what they need beyond its message."""

    invoice_id: str
    message: dict
    address: Address | None
    corrected_issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """A month close in progress: waiting for the barrier, for the ledger, or done."""

    month: str
    command_id: str
    state: str  # barrier → debits → ledger → documents → done
    status_offsets: dict[int, int]
    payment_offsets: dict[int, int]
    priced_offsets: dict[int, int] | None
    directory_offsets: dict[int, int] = field(default_factory=dict)
    ratecard_offsets: dict[int, int] = field(default_factory=dict)
    credit_offsets: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HeldCredit:
    """An `invoice.credit` whose invoice is not recorded yet, kept to retry (the record, as read)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    invoice_id: str
    held_at: datetime


class InvoiceStore(Protocol):
    async def upsert_partner(self, event: PartnerUpserted) -> None: ...
    async def upsert_client(self, event: ClientUpserted) -> None: ...
    async def upsert_channel(self, event: ChannelAdded) -> None: ...
    async def cancel_channel(self, event: ChannelCancelled) -> None: ...
    async def partner(self, partner_id: str) -> Partner | None: ...
    async def client(self, client_id: str) -> Client | None: ...
    async def channel(self, channel_id: str) -> Channel | None: ...
    async def directory(self) -> tuple[list[Partner], list[Channel], dict[str, Client]]:
        """Every partner, channel and client (for a month close)."""

    async def billed(self) -> set[tuple[str, str, str]]:
        """Every (item, subject id, month) already billed."""

    async def mark_billed(self, items: Sequence[tuple[str, str, str]], invoice_id: str) -> None: ...

    async def has_invoice(self, invoice_id: str) -> bool: ...

    async def next_number(self, year: int, series: str = "INV") -> str:
        """The next number of `year` in `series` (`INV` invoices, `CN` credit notes), allocated in this
        transaction (no gap, no repeat)."""

    async def save_invoice(self, invoice: Invoice) -> None:
        """Record the invoice, queue it for publication (outbox) and for its documents."""

    async def save_address(self, recipient_type: str, recipient_id: str, address: Address | None) -> None:
        """Keep (or forget) a recipient's postal address and invoice e-mail."""

    async def pending_documents(self, limit: int) -> list[DocumentSource]:
        """Up to `limit` invoices still without documents, oldest first, locked (skipping those another holds)."""

    async def save_documents(self, invoice_id: str, documents: Sequence[Document]) -> None:
        """Store an invoice's documents (each format once, never changed) and take it off the queue."""

    async def documents_pending(self, month: str) -> int:
        """How many invoices issued by the close of `month` still wait for their documents."""

    async def emit(self, records: Sequence[OutboxRecord]) -> None: ...

    async def outbox_pending(self, topic: str) -> int:
        """Records of `topic` in the outbox, not published yet."""

    async def invoice(self, invoice_id: str) -> Invoice | None:
        """A recorded invoice, locked until commit: the credits of one invoice are judged one at a time."""

    async def credited(self, invoice_id: str) -> dict[int, Decimal]:
        """What credit notes took off each line of an invoice so far, by position."""

    async def record_credits(self, credit_note_id: str, invoice: Invoice,
                             credits: Sequence[tuple[int, Decimal]]) -> None:
        """Record what a credit note takes off each line; raises if a line would end up credited beyond its
        amount (a constraint, whatever the caller checked)."""

    async def hold_credit(self, held: HeldCredit) -> None: ...

    async def holds_credit_for(self, invoice_id: str) -> bool:
        """Whether a credit of this invoice is held (a later one waits behind it)."""

    async def held_credits(self, limit: int) -> list[HeldCredit]:
        """Held credits, oldest first, locked (skipping those another instance has)."""

    async def release_credits(self, held: Sequence[HeldCredit]) -> None: ...

    async def closes(self) -> list[Close]:
        """Every close that is not done, oldest month first, locked (skipping those another holds)."""

    async def last_closed(self) -> str | None: ...

    async def latest_close(self) -> str | None:
        """The latest month with a close, done or not."""

    async def close_state(self, month: str) -> str | None: ...

    async def waiting_close(self, month: str) -> str | None:
        """The command id of the close of `month` that waits for the ledger's answer, if any."""

    async def request_close(self, close: Close) -> None: ...

    async def update_close(self, month: str, state: str, priced_offsets: dict[int, int] | None = None,
                           done_at: datetime | None = None, credit_offsets: dict[int, int] | None = None) -> None: ...

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None: ...

    async def closings(self, month: str) -> dict[str, BalanceClosing]: ...


class Renderer(Protocol):
    """Makes the documents of invoices (CPU-bound: off the event loop)."""

    async def __call__(self, sources: Sequence[DocumentSource]) -> list[list[Document]]: ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[InvoiceStore]: ...


class Offsets(Protocol):
    """Kafka positions, for the close's barrier."""

    async def end_offsets(self, topic: str) -> dict[int, int]: ...

    async def committed(self, group_id: str, topic: str) -> dict[int, int]: ...


class PublishedLog(Protocol):
    """The topics this service publishes its numbered documents on, read back (after a restore)."""

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Partition → where `topic` ends now."""

    async def read(self, start: dict[TopicPartition, int], end: dict[TopicPartition, int]) -> list[ConsumerRecord]:
        """The records from `start` up to `end` (excluded), per partition in order (value and headers)."""


class Recovering(Protocol):
    """What recovery needs from the store, in the transaction that adopts what was published."""

    async def hold_recovery_lock(self) -> None:
        """Serialise recovery between instances starting together."""

    async def origin(self) -> str:
        """This database's origin: the header of what its relay published."""

    async def published_reach(self, topics: Sequence[str]) -> dict[TopicPartition, int]: ...

    async def advance_reach(self, positions: dict[TopicPartition, int], only_new: bool = False) -> None: ...

    async def invoice_number(self, invoice_id: str) -> str | None: ...

    async def record_published(self, invoice: Invoice, value: bytes, billed: Sequence[tuple[str, str, str]]) -> None:
        """Record an invoice as published (its number, its content byte for byte, what it billed); the
        outbox is not involved: it is out already."""

    async def raise_sequence(self, prefix: str, year: int, n: int) -> None:
        """The sequence of `prefix` and `year` continues after `n` at least."""

    async def invoice(self, invoice_id: str) -> Invoice | None: ...

    async def record_credits(self, credit_note_id: str, invoice: Invoice,
                             credits: Sequence[tuple[int, Decimal]]) -> None: ...

    async def emit(self, records: Sequence[OutboxRecord]) -> None: ...


class RecoveryUnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[Recovering]: ...
