"""Balance: the prepaid credit ledger of every Partner-Paid partner and Direct-Paid channel.

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import BalanceEvent, LedgerClosedEvent, LedgerEntry
from shared.outbox import OutboxRelay
from shared.service import Runtime, build_service
from shared.settings import BalanceSettings
from shared.topics import BALANCE_EVENTS, LEDGER_CLOSED, LEDGER_ENTRIES

from . import handlers, service
from .adapters.postgres import unit_of_work

NAME = "balance"


def create_app(settings: BalanceSettings | None = None) -> AsgiFastStream:
    settings = settings or BalanceSettings()
    runtime = Runtime(NAME, "balance", Path(__file__).parent / "migrations", settings)
    uow = unit_of_work(lambda: runtime.pool)
    broker = runtime.broker
    publishers = {
        BALANCE_EVENTS.name: broker.publisher(
            BALANCE_EVENTS.name, title=f"{BALANCE_EVENTS.name}:publish", schema=BalanceEvent,
            description="Low, top-up requested, depleted and restored balances (CONTRACT.md §3.6)."),
        LEDGER_ENTRIES.name: broker.publisher(
            LEDGER_ENTRIES.name, title=f"{LEDGER_ENTRIES.name}:publish", schema=LedgerEntry,
            description="Payments and refunds the ledger accepted, for invoicing."),
        LEDGER_CLOSED.name: broker.publisher(
            LEDGER_CLOSED.name, title=f"{LEDGER_CLOSED.name}:publish", schema=LedgerClosedEvent,
            description="Each balance's closing of a booking month, then the close's end marker."),
    }

    async def publish(topic: str, key: bytes | None, value: bytes):
        return await publishers[topic].publish(value, key=key, no_confirm=True)

    relay = OutboxRelay(lambda: runtime.pool, publish)
    runtime.run_in_background("outbox relay", relay.run)
    app = build_service(runtime, handlers.inputs(uow, relay.drain, settings.hold_s), "Balance", __doc__ or "")

    assert runtime.dead_letters is not None
    sink = runtime.dead_letters

    async def retry_held() -> None:
        if await service.retry_held_payments(uow, datetime.now(UTC), settings.hold_s, sink.send):
            await relay.drain()

    runtime.every("held payments", settings.sweep_interval_s, retry_held)
    return app
