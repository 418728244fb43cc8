"""Invoicing: prepayment, subscription, license, partner plan and month-closing invoices, and credit notes.

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import BalanceCredit, Invoice, LedgerClose
from shared.positions import KafkaPositions
from shared.service import Runtime, build_service
from shared.settings import InvoicingSettings
from shared.topics import BALANCE_CREDITS, INVOICES, LEDGER_CLOSE

from . import credits, handlers, service
from .adapters.postgres import unit_of_work

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
        (BALANCE_CREDITS, BalanceCredit, "Credit notes settled to a prepaid balance, for the ledger to book."),
    ])
    app = build_service(runtime, handlers.inputs(uow, offsets, relay.drain, settings.hold_s), "Invoicing",
                        __doc__ or "")

    async def closer() -> None:
        now = datetime.now(UTC)
        assert runtime.dead_letters is not None  # built with the app, before any record is read
        await credits.retry_held_credits(uow, now, settings.hold_s, runtime.dead_letters.send)
        if settings.auto_close:
            await service.auto_close(uow, offsets, now, settings.close_grace_period_s)
        await service.advance_closes(uow, offsets, settings.ingest_group_id, settings.balance_group_id, now)
        await relay.drain()

    runtime.every("month closer", settings.close_check_interval_s, closer)
    return app
