"""Invoicing: prepayment, subscription, license, partner plan and month-closing invoices, and credit notes.

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import BalanceCredit, Invoice, InvoiceDocument, LedgerClose
from shared.positions import KafkaPositions
from shared.service import Runtime, build_service
from shared.settings import InvoicingSettings
from shared.topics import BALANCE_CREDITS, INVOICE_DOCUMENTS, INVOICES, LEDGER_CLOSE

from . import credits, handlers, issue_documents, recovery, service
from .adapters.postgres import unit_of_work
from .adapters.renderer import ProcessRenderer
from .documents.seller import SellerIncomplete, from_settings

NAME = "invoicing"


def create_app(settings: InvoicingSettings | None = None) -> AsgiFastStream:
    settings = settings or InvoicingSettings()
    runtime = Runtime(NAME, "invoicing", Path(__file__).parent / "migrations", settings)
    uow = unit_of_work(lambda: runtime.pool)
    offsets = KafkaPositions(settings.kafka, "billing-invoicing-barrier")
    runtime.close_on_stop(offsets.close)
    relay = runtime.outbox([
        (INVOICES, Invoice, "Every invoice (CONTRACT.md §3.7), keyed by recipient, for accounting."),
        (LEDGER_CLOSE, LedgerClose, "Asks the ledger to close a month, once the close's barrier is passed."),
        (INVOICE_DOCUMENTS, InvoiceDocument, "Every stored document of an invoice (PDF/A-3, CII, XRechnung), "
         "keyed by invoice id, for those that serve them."),
        (BALANCE_CREDITS, BalanceCredit, "Credit notes settled to a prepaid balance, for the ledger to book."),
    ], track=[INVOICES])
    app = build_service(runtime, handlers.inputs(uow, offsets, relay.drain, settings.hold_s), "Invoicing",
                        __doc__ or "")

    async def learn_what_was_published() -> None:
        published = KafkaPositions(settings.kafka, "billing-invoicing-recovery")
        try:
            await recovery.recover(uow, published, [INVOICES.name])  # type: ignore[arg-type]
        finally:
            await published.close()

    runtime.before_consuming(learn_what_was_published)

    async def closer() -> None:
        now = datetime.now(UTC)
        assert runtime.dead_letters is not None  # built with the app, before any record is read
        await credits.retry_held_credits(uow, now, settings.hold_s, runtime.dead_letters.send)
        if settings.auto_close:
            await service.auto_close(uow, offsets, now, settings.close_grace_period_s)
        await service.advance_closes(uow, offsets, settings.ingest_group_id, settings.balance_group_id, now)
        await relay.drain()

    runtime.every("month closer", settings.close_check_interval_s, closer)

    # `python -m services.invoicing` refuses to start without a complete seller (__main__); an app made
    # only to be described (AsyncAPI, ACLs) has none and makes no documents.
    try:
        seller = from_settings(settings.seller)
    except SellerIncomplete as exc:
        runtime.log.warning("no invoice documents without a complete seller", error=str(exc))
    else:
        renderer = ProcessRenderer(seller, settings.documents_workers)
        runtime.close_on_stop(renderer.close)

        async def documents() -> None:
            if await issue_documents.make_all_documents(uow, renderer, settings.documents_batch):
                await relay.drain()

        runtime.every("invoice documents", settings.documents_interval_s, documents)
    return app
