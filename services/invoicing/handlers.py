"""The invoicing service's Kafka inputs: each batch goes to a use case in one transaction."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.topics import COMMANDS, DIRECTORY, LEDGER_CLOSED, LEDGER_ENTRIES

from . import service
from .ports import Offsets, UnitOfWork


def inputs(uow: UnitOfWork, offsets: Offsets, flush: Callable[[], Awaitable[None]],
           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Input]:
    """`flush` publishes the outbox (invoices, ledger closes) before a batch's offsets are committed."""

    async def commands(accepted: list[Accepted]) -> list[Rejected]:
        return await service.request_close(uow, offsets, accepted)

    async def directory(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_directory(uow, accepted, clock())
        await flush()
        return refused

    async def entries(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_ledger_entries(uow, accepted, clock())
        await flush()
        return refused

    async def closed(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_ledger_closed(uow, accepted, clock())
        await flush()
        return refused

    return [
        Input(COMMANDS, "Month-close commands (CONTRACT.md §3.5): recorded with their barrier, closed in order.",
              commands),
        Input(DIRECTORY, "Partners, clients and channels (§3.2): recipients, plans and licenses; a Direct-Paid "
              "channel's start month is billed as soon as it is added.", directory, owns_dead_letters=False),
        Input(LEDGER_ENTRIES, "Payments the ledger accepted: one prepayment invoice each.", entries),
        Input(LEDGER_CLOSED, "The ledger's closing of a month, per balance: month-closing invoices.", closed),
    ]
