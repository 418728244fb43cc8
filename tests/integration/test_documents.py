"""Invoice documents on the real stack: an invoice issued through Kafka gets its PDF/A-3, CII and
XRechnung stored once and published, and a SIGKILL of invoicing between recording the invoice and
making its documents changes nothing in their bytes."""

import asyncio
import hashlib
import json

from services.invoicing.documents.make import make_from
from services.invoicing.documents.model import Address
from services.invoicing.documents.seller import EXAMPLE_SELLER
from shared.contracts import InvoiceDocument
from shared.topics import DIRECTORY, INVOICE_DOCUMENTS
from tests.builders import channel, client, partner

from .kafka_io import collect, publish
from .pipeline import connect, service
from .test_cli import Billing


async def _until(stack, sql: str, *args, timeout_s: float = 60) -> object:
    conn = await connect(stack)
    try:
        for _ in range(int(timeout_s / 0.2)):
            if value := await conn.fetchval(sql, *args):
                return value
            await asyncio.sleep(0.2)
        raise TimeoutError(sql)
    finally:
        await conn.close()


async def test_an_invoice_gets_its_documents_once_with_the_same_bytes_after_a_sigkill(stack, unique, tmp_path):
    """A Direct-Paid channel added for a German client issues its prorated license at once; invoicing is
    killed (SIGKILL) before it makes the documents; restarted, it stores and publishes exactly the
    documents that the invoice and the seller make, each once, and `billing invoices pdf` reads them."""
    p, c, ch = f"{unique}PA", f"{unique}CL", f"{unique}CH"
    address = {"street": "Hauptstraße 1", "postcode": "80331", "city": "München", "email": "ap@example.com"}
    directory = [partner(p, "direct_paid", "EUR", created_at="2026-09-01T00:00:00Z"),
                 {**client(c, p), "billing_address": {"country": "DE", "vat_id": "DE123456789", **address}},
                 channel(ch, c, p, "2026-10-05T00:00:00Z", "regular")]
    # Documents are looked for once at start-up, then not for an hour: the invoice stays without them.
    slow = service(stack, unique, "invoicing", tmp_path, DOCUMENTS_INTERVAL_S="3600").start()
    await asyncio.sleep(1.0)  # past the start-up run of the documents job
    await publish(stack.bootstrap, DIRECTORY.name, [(p.encode(), json.dumps(d).encode()) for d in directory])
    invoice_id = await _until(stack, "SELECT invoice_id::text FROM invoicing.invoices WHERE recipient_id = $1", c)
    assert await _until(stack, "SELECT true FROM invoicing.documents_pending WHERE invoice_id = $1::uuid", invoice_id)
    slow.proc.kill()
    slow.proc.wait()

    # The queue is first in, first out: invoices other tests left without documents in this shared
    # database come first, so the wait allows for them.
    ahead = await _until(stack, "SELECT 1 + count(*) FROM invoicing.documents_pending WHERE queued_at <= "
                         "(SELECT queued_at FROM invoicing.documents_pending WHERE invoice_id = $1::uuid)", invoice_id)
    service(stack, unique, "invoicing", tmp_path, instance="-2").start()
    await _until(stack, "SELECT NOT EXISTS (SELECT 1 FROM invoicing.documents_pending WHERE invoice_id = $1::uuid)",
                 invoice_id, timeout_s=60 + 2 * ahead)
    conn = await connect(stack)
    try:
        message = json.loads(await conn.fetchval("SELECT invoice::text FROM invoicing.invoices WHERE invoice_id = $1",
                                                 invoice_id))
        stored = {r["format"]: (bytes(r["content"]), r["sha256"]) for r in await conn.fetch(
            "SELECT format, content, sha256 FROM invoicing.documents WHERE invoice_id = $1", invoice_id)}
    finally:
        await conn.close()
    expected = {d.format: d.content for d in make_from(message, Address(**address), None, EXAMPLE_SELLER)}
    assert set(stored) == set(expected) == {"pdf", "cii", "xrechnung"}
    assert {f: content for f, (content, _) in stored.items()} == expected
    assert all(hashlib.sha256(content).hexdigest() == sha for content, sha in stored.values())

    records = await collect(stack.bootstrap, INVOICE_DOCUMENTS.name, lambda r: r.key == invoice_id.encode(), 3,
                            timeout_s=60, identity=lambda r: json.loads(r.value)["format"])
    published = [InvoiceDocument.model_validate_json(r.value) for r in records]
    assert {d.format: d.content for d in published} == expected
    assert {(d.format, d.sha256, d.size, d.number) for d in published} == {
        (f, sha, len(content), message["number"]) for f, (content, sha) in stored.items()}

    billing = Billing(stack)  # the CLI runs its own event loop: in a thread, beside this test's
    await asyncio.to_thread(billing, "invoices", "pdf", message["number"], "-o", str(tmp_path / "invoice.pdf"))
    await asyncio.to_thread(billing, "invoices", "xml", message["number"], "-o", str(tmp_path / "invoice.xml"),
                            "--xrechnung")
    assert (tmp_path / "invoice.pdf").read_bytes() == expected["pdf"]
    assert (tmp_path / "invoice.xml").read_bytes() == expected["xrechnung"]
    missing = await asyncio.to_thread(billing, "invoices", "pdf", "INV-1999-000001", "-o", str(tmp_path / "x.pdf"),
                                      code=1)
    assert "no invoice INV-1999-000001" in missing.output
