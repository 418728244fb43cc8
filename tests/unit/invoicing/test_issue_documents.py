"""The documents step (services/invoicing/issue_documents.py) against the fakes of its ports: every
recorded invoice is queued, gets its documents once in one transaction with their records, a failure
leaves it queued, and a close is done only when its invoices have theirs."""

import base64
import hashlib

import pytest

from services.invoicing import issue_documents
from services.invoicing.documents.model import Address
from shared.contracts import decode
from shared.topics import INVOICE_DOCUMENTS
from tests.builders import channel, client, partner

from .fakes import StoreFailure, fake_renderer
from .test_service import ACME_DIRECTORY, ACME_MARCH, CLOSE_MARCH_AT, world_with

GERMAN = {"country": "DE", "vat_id": "DE123456789", "street": "Hauptstraße 1", "postcode": "80331",
          "city": "München", "email": "ap@example.com"}


def direct_paid_channel_for(billing_address: dict) -> list[dict]:
    return [partner("dpPA", "direct_paid", "EUR", created_at="2026-01-01T00:00:00Z"),
            {**client("dpCL", "dpPA"), "billing_address": billing_address},
            channel("dpCH", "dpCL", "dpPA", "2026-03-10T00:00:00Z", "regular")]


def documents(w) -> list:
    return [decode(INVOICE_DOCUMENTS.name, r.value) for r in w.store.outbox if r.topic == INVOICE_DOCUMENTS.name]


async def test_an_invoice_is_queued_with_its_record_and_gets_its_documents_once():
    """The license invoice of an added channel is queued; one run stores its document, takes it off the queue
    and queues one record with the bytes and their SHA-256; a second run makes nothing."""
    w = await world_with(*direct_paid_channel_for({"country": "DE", "vat_id": None}))
    [invoice] = w.issued()
    assert list(w.store.pending) == [invoice.invoice_id]
    assert await issue_documents.make_all_documents(w.uow, fake_renderer, 20) == 1
    assert w.store.pending == {}
    stored = w.store.documents[(invoice.invoice_id, "pdf")]
    [record] = documents(w)
    assert (record.invoice_id, record.number, record.format, record.recipient_id, record.partner_id) == \
        (invoice.invoice_id, invoice.number, "pdf", "dpCL", "dpPA")
    assert record.content == stored.content == base64.b64decode(record.content_base64)
    assert record.sha256 == hashlib.sha256(stored.content).hexdigest() and record.size == len(stored.content)
    assert record.issued_at == invoice.issued_at and record.filename == f"{invoice.number}.pdf"
    assert await issue_documents.make_all_documents(w.uow, fake_renderer, 20) == 0
    assert len(documents(w)) == 1


async def test_a_failure_while_storing_leaves_the_invoice_queued_and_nothing_stored():
    """The store fails after rendering: the transaction rolls back, the invoice waits, the retry stores it."""
    w = await world_with(*direct_paid_channel_for({"country": "DE", "vat_id": None}))
    w.store.fail_on = ("save_documents", 1)
    with pytest.raises(StoreFailure):
        await issue_documents.make_all_documents(w.uow, fake_renderer, 20)
    assert len(w.store.pending) == 1 and w.store.documents == {} and documents(w) == []
    w.store.fail_on = None
    assert await issue_documents.make_all_documents(w.uow, fake_renderer, 20) == 1
    assert len(documents(w)) == 1


async def test_the_recipients_address_from_the_directory_reaches_the_documents():
    """Street, postcode, city and e-mail sent with a billing address are kept and handed to the renderer."""
    w = await world_with(*direct_paid_channel_for(GERMAN))
    async with w.uow() as store:
        [source] = await store.pending_documents(10)
    assert source.address == Address("Hauptstraße 1", "80331", "München", "ap@example.com")
    w2 = await world_with(*direct_paid_channel_for({"country": "DE", "vat_id": None}))
    async with w2.uow() as store:
        [source] = await store.pending_documents(10)
    assert source.address is None


async def test_a_close_is_done_only_when_every_invoice_it_issued_has_its_documents():
    """After the ledger's answer the close waits in `documents`; it is done once the documents are made."""
    w = await world_with(*ACME_DIRECTORY)
    await w.command("2026-03")
    w.catch_up()
    await w.advance(CLOSE_MARCH_AT)
    await w.closed_batch(w.answer("2026-03", ACME_MARCH), CLOSE_MARCH_AT)
    assert w.state("2026-03") == "documents"
    await w.advance(CLOSE_MARCH_AT)
    assert w.state("2026-03") == "documents" and w.store.closes_rows["2026-03"].done_at is None
    await issue_documents.make_documents(w.uow, fake_renderer, 1)  # one of the two
    await w.advance(CLOSE_MARCH_AT)
    assert w.state("2026-03") == "documents"
    await w.finish_documents(CLOSE_MARCH_AT)
    assert w.state("2026-03") == "done"


async def test_a_close_waiting_for_documents_does_not_hold_up_the_next_months_close():
    """March's invoices are issued but lack documents: April's close still goes to the ledger, and March is
    done once its documents are made."""
    w = await world_with(*ACME_DIRECTORY)
    await w.command("2026-03")
    w.catch_up()
    await w.advance(CLOSE_MARCH_AT)
    await w.closed_batch(w.answer("2026-03", ACME_MARCH), CLOSE_MARCH_AT)
    await w.command("2026-04", "close-april")
    w.catch_up()
    await w.advance("2026-05-01T00:10:00Z")
    await w.advance("2026-05-01T00:10:00Z")
    assert (w.state("2026-03"), w.state("2026-04")) == ("documents", "ledger")
    assert [c.month for c in w.ledger_closes()] == ["2026-03", "2026-04"]
    await w.finish_documents("2026-05-01T00:10:00Z")
    assert (w.state("2026-03"), w.state("2026-04")) == ("done", "ledger")
