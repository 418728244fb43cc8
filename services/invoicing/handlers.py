"""The invoicing service's Kafka inputs: each batch goes to a use case in one transaction."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.topics import COMMANDS, DIRECTORY, LEDGER_CLOSED, LEDGER_ENTRIES

from . import credits, service
from .ports import Offsets, UnitOfWork


def inputs(uow: UnitOfWork, offsets: Offsets, flush: Callable[[], Awaitable[None]], hold_s: float,
           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Input]:
    """`flush` publishes the outbox (invoices, credit notes, balance credits, ledger closes) before a batch's
    offsets are committed. An `invoice.credit` naming an invoice not recorded yet is held up to `hold_s`."""

    async def commands(accepted: list[Accepted]) -> list[Rejected]:
        refused = await credits.apply_commands(uow, offsets, accepted, clock(), hold_s)
        await flush()
        return refused

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
        Input(COMMANDS, "Commands (CONTRACT.md §3.5): a month close is recorded with its barrier and closed in "
              "order; an invoice.credit issues a credit note.", commands),
        Input(DIRECTORY, "Partners, clients and channels (§3.2): recipients, plans and licenses; a Direct-Paid "
              "channel's start month is billed as soon as it is added.", directory, owns_dead_letters=False),
        Input(LEDGER_ENTRIES, "Payments the ledger accepted: one prepayment invoice each.", entries),
        Input(LEDGER_CLOSED, "The ledger's closing of a month, per balance: month-closing invoices.", closed),
    ]
