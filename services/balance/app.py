"""Balance: the prepaid credit ledger of every Partner-Paid partner and Direct-Paid channel, credit notes included.

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import BalanceEvent, BalanceMoved, LedgerClosedEvent, LedgerEntry
from shared.service import Runtime, build_service
from shared.settings import BalanceSettings
from shared.stored_positions import wait_until_read
from shared.topics import BALANCE_EVENTS, BALANCE_MOVES, LEDGER_CLOSED, LEDGER_ENTRIES

from . import handlers, service
from .adapters.postgres import unit_of_work

NAME = "balance"


def create_app(settings: BalanceSettings | None = None) -> AsgiFastStream:
    settings = settings or BalanceSettings()
    runtime = Runtime(NAME, "balance", Path(__file__).parent / "migrations", settings)
    uow = unit_of_work(lambda: runtime.pool)
    relay = runtime.outbox([
        (BALANCE_EVENTS, BalanceEvent, "Low, top-up requested, depleted and restored balances (CONTRACT.md §3.6)."),
        (LEDGER_ENTRIES, LedgerEntry, "Payments and refunds the ledger accepted, for invoicing."),
        (LEDGER_CLOSED, LedgerClosedEvent, "Each balance's closing of a booking month, then the close's end marker."),
        (BALANCE_MOVES, BalanceMoved, "Each balance's amount after a transaction moved it (the portal's read model)."),
    ])

    async def retry_held() -> None:
        assert runtime.dead_letters is not None  # built with the app, before any record is read
        if await service.retry_held_payments(uow, datetime.now(UTC), settings.hold_s, runtime.dead_letters.send):
            await relay.drain()

    async def read_up_to(barrier: dict[str, dict[int, int]] | None) -> None:
        await wait_until_read(runtime.positions, settings.group_id, barrier, stopping=runtime.stopping)

    app = build_service(runtime, handlers.inputs(uow, relay.drain, settings.hold_s, retry_held,
                                                 log_usage=settings.log_usage, read_up_to=read_up_to),
                        "Balance", __doc__ or "")

    runtime.every("held payments", settings.sweep_interval_s, retry_held)
    return app
