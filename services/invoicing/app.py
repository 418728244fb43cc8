"""Invoicing: prepayment, subscription, license, partner plan and month-closing invoices.

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import Invoice, LedgerClose
from shared.positions import KafkaPositions
from shared.service import Runtime, build_service
from shared.settings import InvoicingSettings
from shared.topics import INVOICES, LEDGER_CLOSE

from . import handlers, recovery, service
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
    ], track=[INVOICES])
    app = build_service(runtime, handlers.inputs(uow, offsets, relay.drain), "Invoicing", __doc__ or "")

    async def learn_what_was_published() -> None:
        published = KafkaPositions(settings.kafka, "billing-invoicing-recovery")
        try:
            await recovery.recover(uow, published, [INVOICES.name])  # type: ignore[arg-type]
        finally:
            await published.close()

    runtime.before_consuming(learn_what_was_published)

    async def closer() -> None:
        now = datetime.now(UTC)
        if settings.auto_close:
            await service.auto_close(uow, offsets, now, settings.close_grace_period_s)
        await service.advance_closes(uow, offsets, settings.ingest_group_id, settings.balance_group_id, now)
        await relay.drain()

    runtime.every("month closer", settings.close_check_interval_s, closer)
    return app
