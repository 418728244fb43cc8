"""Documents for every issued invoice: made off the close's critical path, stored once, published.

An invoice is queued for its documents in the transaction that records it (`documents_pending`).
This step takes a few queued invoices, locked so that another instance takes others, has them
rendered (in worker processes: a PDF costs a few hundred milliseconds of CPU), stores every
document under its UNIQUE (invoice, format) and queues one record per document for
`billing.internal.invoice-documents.v1` (outbox), all in one transaction. A crash before the commit
leaves the invoice queued; rendering is deterministic, so the retry makes the same bytes.
"""

import base64
from collections.abc import Sequence

from shared.contracts import InvoiceDocument, encode
from shared.logging import get_logger
from shared.outbox import OutboxRecord
from shared.topics import INVOICE_DOCUMENTS

from .documents.model import Document
from .ports import Renderer, UnitOfWork

log = get_logger(__name__)


class DocumentTooLarge(ValueError):
    """A document's record would exceed what the documents topic takes."""


async def make_documents(uow: UnitOfWork, render: Renderer, batch: int) -> int:
    """Documents for up to `batch` queued invoices; returns how many invoices got theirs."""
    async with uow() as store:
        sources = await store.pending_documents(batch)
        if not sources:
            return 0
        made = await render(sources)
        records: list[OutboxRecord] = []
        for source, documents in zip(sources, made, strict=True):
            await store.save_documents(source.invoice_id, documents)
            records += document_records(source.message, documents)
        await store.emit(records)
    for source, documents in zip(sources, made, strict=True):
        log.info("invoice documents stored", invoice_id=source.invoice_id, invoice_number=source.message["number"],
                 formats=[d.format for d in documents], sizes=[len(d.content) for d in documents])
    return len(sources)


async def make_all_documents(uow: UnitOfWork, render: Renderer, batch: int) -> int:
    """Drain the queue: documents for every invoice queued now (the background job's one run)."""
    total = 0
    while made := await make_documents(uow, render, batch):
        total += made
    return total


def document_records(message: dict, documents: Sequence[Document]) -> list[OutboxRecord]:
    """One record per document, keyed by invoice id, the bytes whole (base64) with their SHA-256."""
    records = []
    for d in documents:
        event = InvoiceDocument(invoice_id=message["invoice_id"], number=message["number"],
                                partner_id=message["partner_id"], recipient_id=message["recipient"]["id"],
                                format=d.format, media_type=d.media_type, filename=d.filename, sha256=d.sha256,
                                size=len(d.content), issued_at=message["issued_at"],
                                content_base64=base64.b64encode(d.content).decode("ascii"))
        value = encode(event)
        if INVOICE_DOCUMENTS.max_message_bytes and len(value) > INVOICE_DOCUMENTS.max_message_bytes:
            raise DocumentTooLarge(f"the {d.format} of {message['number']} makes a record of {len(value)} bytes, "
                                   f"over the topic's {INVOICE_DOCUMENTS.max_message_bytes}")
        records.append(OutboxRecord(INVOICE_DOCUMENTS.name, message["invoice_id"].encode(), value))
    return records
