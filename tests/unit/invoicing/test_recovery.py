"""After its database is restored from a backup, invoicing records again what it had published since, under the
published numbers and content, and numbers on after them: no number reused, no invoice issued twice."""

import json
from datetime import datetime

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from services.invoicing import credits, service
from services.invoicing.domain.credit_notes import credit_note_id
from services.invoicing.domain.published import billed_by, numbered
from services.invoicing.recovery import PublishedConflict, recover
from shared.contracts import ErrorCode, Invoice, InvoiceCredit, decode
from shared.published_positions import ORIGIN_HEADER
from shared.topics import BALANCE_CREDITS, INVOICES

from .fakes import FakeInvoiceStore, FakeUnitOfWork, Feed
from .test_service import ACME, entry

TP = TopicPartition(INVOICES.name, 0)
NOW = datetime.fromisoformat("2026-03-16T09:00:00+00:00")
LATER = datetime.fromisoformat("2026-03-20T09:00:00+00:00")


MINE = [(ORIGIN_HEADER, b"this-database")]


class FakePublishedLog:
    """`ports.PublishedLog` over one partition of the invoices topic; records are this database's unless
    `headers` say otherwise."""

    def __init__(self, values: list[bytes] | None = None, headers: list | None = None) -> None:
        self.values = list(values or [])
        self.headers = list(headers or [MINE] * len(self.values))

    def append(self, value: bytes, headers=MINE) -> None:
        self.values.append(value)
        self.headers.append(headers)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return {0: len(self.values)}

    async def read(self, start, end) -> list[ConsumerRecord]:
        return [ConsumerRecord(tp.topic, 0, o, 0, 0, None, self.values[o], None, 0, 0, self.headers[o])
                for tp in start for o in range(start[tp], end[tp])]


def relay(store: FakeInvoiceStore, log: FakePublishedLog) -> None:
    """What the outbox relay does: publish the queued invoices and record how far they reach."""
    for record in [r for r in store.outbox if r.topic == INVOICES.name]:
        log.append(record.value)
        store.reach[TP] = len(log.values)
    store.outbox = [r for r in store.outbox if r.topic != INVOICES.name]


def foreign(number: str) -> bytes:
    """An invoice another database published on the shared topic before this one first started."""
    return json.dumps({"invoice_id": "00000000-0000-0000-0000-000000000001", "number": number}).encode()


async def prepay(uow: FakeUnitOfWork, feed: Feed, entry_id: str, now: datetime = NOW) -> None:
    await service.apply_ledger_entries(uow, feed.entries(entry(entry_id, "acmePA", "100.00")), now)


async def test_a_restored_database_records_again_what_was_published_after_the_backup_and_numbers_on():
    """Two prepayment invoices published after the backup are recorded again, byte for byte under their
    numbers; replaying their payments issues nothing, and the next invoice takes the next number."""
    uow, feed, log = FakeUnitOfWork(), Feed(), FakePublishedLog([foreign("INV-2026-000007")])
    await recover(uow, log, [INVOICES.name])
    assert uow.store.reach == {TP: 1}, "what the topic held before the first start is not this database's"
    await service.apply_directory(uow, feed.directory(ACME), NOW)
    await prepay(uow, feed, "pay-1")
    relay(uow.store, log)
    backup = uow.store.snapshot()
    await prepay(uow, feed, "pay-2", LATER)
    await prepay(uow, feed, "pay-3", LATER)
    relay(uow.store, log)
    published = {json.loads(v)["number"]: v for v in log.values[1:]}

    uow.store.restore(backup)  # the disaster, and the restore from the backup
    result = await recover(uow, log, [INVOICES.name])

    assert result.adopted == ["INV-2026-000002", "INV-2026-000003"]
    assert {i.number: uow.store.published_values.get(i.invoice_id) for i in uow.store.invoices.values()
            if i.number != "INV-2026-000001"} == {n: v for n, v in published.items() if n != "INV-2026-000001"}
    for entry_id in ("pay-1", "pay-2", "pay-3"):  # the consumers replay what the database lacks
        await prepay(uow, feed, entry_id)
    assert uow.store.outbox == []
    await prepay(uow, feed, "pay-4")
    assert uow.store.numbers() == [f"INV-2026-00000{n}" for n in (1, 2, 3, 4)]
    assert uow.store.reach == {TP: 4}


async def test_nothing_published_since_reads_nothing_and_changes_nothing():
    uow, feed, log = FakeUnitOfWork(), Feed(), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    await service.apply_directory(uow, feed.directory(ACME), NOW)
    await prepay(uow, feed, "pay-1")
    relay(uow.store, log)
    result = await recover(uow, log, [INVOICES.name])
    assert (result.read, result.adopted) == (0, [])


async def test_an_invoice_published_under_another_number_than_the_database_has_stops_the_start():
    """One id, two numbers: invoicing does not start, and says which."""
    uow, feed, log = FakeUnitOfWork(), Feed(), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    await service.apply_directory(uow, feed.directory(ACME), NOW)
    await prepay(uow, feed, "pay-1")
    [invoice] = uow.store.invoices.values()
    log.append(invoice.model_copy(update={"number": "INV-2026-000009"}).model_dump_json().encode())
    with pytest.raises(PublishedConflict, match="INV-2026-000009"):
        await recover(uow, log, [INVOICES.name])


async def test_a_numbered_document_of_a_prefix_nobody_adopts_stops_the_start():
    """A document of a series this version cannot record must not be skipped (its number would be issued
    again)."""
    uow, log = FakeUnitOfWork(), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    log.append(json.dumps({"invoice_id": "dn-1", "number": "DN-2026-000001"}).encode())
    with pytest.raises(PublishedConflict, match="DN-2026-000001"):
        await recover(uow, log, [INVOICES.name])


async def test_a_published_credit_note_is_taken_back_with_what_it_credited_its_balance_credit_and_documents():
    """A credit note published after the backup comes back under its CN number; its credits per line still cap
    the next credit, its balance credit is queued again (the balance books it once), both documents are
    queued for their PDF and XML, and the CN sequence numbers on after it."""
    uow, feed, log = FakeUnitOfWork(), Feed(), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    await service.apply_directory(uow, feed.directory(ACME), NOW)
    await prepay(uow, feed, "pay-1")
    relay(uow.store, log)
    [invoice] = uow.store.invoices.values()
    uow.store.pending.clear()  # its documents were made before the backup
    backup = uow.store.snapshot()
    command = InvoiceCredit.model_validate({
        "type": "invoice.credit", "command_id": "cmd-1", "invoice_id": invoice.invoice_id,
        "lines": [{"line": 0, "amount": "30.00"}], "reason": "goodwill", "settle": "credit_balance"})
    async with uow() as store:
        assert await credits.issue_credit_note(store, command, LATER) is None
    relay(uow.store, log)
    note_id = credit_note_id("cmd-1")
    credited = {k: v for k, v in uow.store.line_credits.items()}

    uow.store.restore(backup)
    result = await recover(uow, log, [INVOICES.name])

    assert result.adopted == ["CN-2026-000001"]
    assert uow.store.line_credits == credited
    assert [decode(BALANCE_CREDITS.name, r.value).credit_id for r in uow.store.outbox
            if r.topic == BALANCE_CREDITS.name] == [note_id]
    assert list(uow.store.pending) == [note_id]
    async with uow() as store:  # the replayed command finds its credit note
        assert await credits.issue_credit_note(store, command, LATER) is None
    over = command.model_copy(update={"command_id": "cmd-2", "lines": [
        command.lines[0].model_copy(update={"amount": invoice.lines[0].amount})]})
    async with uow() as store:
        code, _ = await credits.issue_credit_note(store, over, LATER)
    assert code == ErrorCode.CREDIT_EXCEEDS_INVOICE
    assert uow.store.credit_note_numbers == {2026: 1}


async def test_every_prefix_has_its_own_adopter_and_sequence_and_each_adopted_document_reaches_the_hooks():
    """Recovery is generic over number prefixes: a credit-note adopter gets the CN documents, the CN
    sequence continues after the highest one, and the after-adopted hooks see each document."""
    class Store(FakeInvoiceStore):
        sequences: dict[tuple[str, int], int] = {}

        async def raise_sequence(self, prefix: str, year: int, n: int) -> None:
            self.sequences[(prefix, year)] = n

    uow, log = FakeUnitOfWork(Store()), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    for n in (1, 2):
        log.append(json.dumps({"invoice_id": f"cn-{n}", "number": f"CN-2026-00000{n}"}).encode())
    adopted, hooked = [], []

    async def adopt_credit_note(store, doc):
        adopted.append(doc.number)
        return doc

    async def hook(store, document):
        hooked.append(document.document_id)

    await recover(uow, log, [INVOICES.name], adopters={"CN": adopt_credit_note}, after_adopted=[hook])
    assert adopted == ["CN-2026-000001", "CN-2026-000002"] and hooked == ["cn-1", "cn-2"]
    assert Store.sequences == {("CN", 2026): 2}


def test_a_published_invoice_bills_its_license_and_plan_months():
    """What an adopted invoice billed is marked billed, so that the next close does not bill it again."""
    invoice = Invoice.model_validate({
        "invoice_id": "i", "number": "INV-2026-000004", "kind": "subscription", "billing_model": "partner_paid",
        "recipient": {"type": "partner", "id": "acmePA", "name": "Acme", "country": "DE", "vat_id": None},
        "partner_id": "acmePA", "period": "2026-04", "issued_at": "2026-04-01T00:00:00Z", "currency": "EUR",
        "lines": [{"code": "partner_plan", "description": "plan", "quantity": "1", "unit_price": "500.00",
                   "amount": "500.00", "service_month": "2026-04"},
                  {"code": "license_prorated", "description": "lic", "quantity": "1", "unit_price": "9.00",
                   "amount": "9.00", "service_month": "2026-03", "client_id": "bobCL", "channel_id": "acmeCH0002"}],
        "subtotal": "509.00", "tax": {"treatment": "standard", "rate": "0.19", "amount": "96.71"},
        "total": "605.71"})
    assert billed_by(invoice) == [("plan", "acmePA", "2026-04"), ("license", "acmeCH0002", "2026-03")]


def test_a_record_that_is_no_numbered_document_is_passed_over():
    assert numbered(b"{not json") is None and numbered(b'{"number": "X-1"}') is None
    doc = numbered(b'{"invoice_id": "i", "number": "INV-2027-000012"}')
    assert doc is not None and (doc.sequence, doc.n) == (("INV", 2027), 12)


async def test_an_invoice_another_database_published_on_the_topic_is_not_taken_for_ours():
    """Tests share one broker between databases, and so could two environments by mistake: only what this
    database's relay published (its origin header) is recorded again."""
    uow, log = FakeUnitOfWork(), FakePublishedLog()
    await recover(uow, log, [INVOICES.name])
    log.append(json.dumps({"invoice_id": "i-1", "number": "INV-2026-000042"}).encode(),
               headers=[(ORIGIN_HEADER, b"another-database")])
    result = await recover(uow, log, [INVOICES.name])
    assert (result.read, result.adopted, uow.store.invoices) == (0, [], {})
