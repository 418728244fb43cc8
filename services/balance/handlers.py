"""The balance service's Kafka inputs: each batch goes to a use case in one transaction."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.logging import get_logger
from shared.published import log_usage_lines
from shared.topics import BALANCE_CREDITS, DIRECTORY, LEDGER_CLOSE, PAYMENTS, TOPUP_REQUESTS, USAGE_PRICED

from . import credits, service
from .ports import UnitOfWork

log = get_logger("balance", service="balance")


def inputs(uow: UnitOfWork, flush: Callable[[], Awaitable[None]], hold_s: float,
           retry_held: Callable[[], Awaitable[None]],
           clock: Callable[[], datetime] = lambda: datetime.now(UTC), log_usage: bool = False,
           read_up_to: Callable[[dict[str, dict[int, int]] | None], Awaitable[None]] | None = None) -> list[Input]:
    """`flush` publishes the outbox; it runs before a batch's offsets are committed, so a committed
    offset also means its events are out (the month-close barrier counts on it). `retry_held` applies
    the payments held for want of a balance, and publishes what they caused. With `log_usage`, the
    debits are logged per balance once their transaction committed (a redelivered one again: it
    debited once). `read_up_to` waits until this ledger has read as far as a close's barrier (after a
    restore it can read the close before the usage it closes)."""

    async def usage(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_usage(uow, accepted, clock())
        if log_usage:
            log_usage_lines(log, "usage debited", ((a.message.balance.owner_id, a.message.usage_id,
                                                     a.message.currency, a.message.amount) for a in accepted))
        await flush()
        return refused

    async def payments(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_payments(uow, accepted, clock(), hold_s)
        await flush()
        return refused

    async def balance_credits(accepted: list[Accepted]) -> list[Rejected]:
        refused = await credits.apply_credits(uow, accepted, clock())
        await flush()
        return refused

    async def directory(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_directory(uow, accepted)
        # A payment held because it came before the record that opened its balance is applied before
        # that record's offset is committed: a month close counts on it.
        await retry_held()
        return refused

    async def close(accepted: list[Accepted]) -> list[Rejected]:
        for a in accepted:
            if read_up_to is not None:
                await read_up_to(a.message.barrier)
            await service.close_ledger(uow, a.message)
        await flush()
        return []

    async def topups(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.request_topups(uow, accepted, clock())
        await flush()
        return refused

    return [
        Input(USAGE_PRICED, "Priced usage from usage ingest: one debit per charged message, keyed by "
              "balance.", usage),
        Input(PAYMENTS, "Top-ups and refunds (CONTRACT.md §3.4) that credit or debit a balance; refused "
              "ones go to billing.payments.v1.dlq.", payments),
        Input(DIRECTORY, "Partners and channels (§3.2): which balances exist, their auto-renewal, what "
              "pauses with them.", directory, owns_dead_letters=False),
        Input(LEDGER_CLOSE, "Close a booking month (from invoicing, after its barrier).", close),
        Input(TOPUP_REQUESTS, "Top-ups asked for in the portal, announced as topup.requested (§3.6).", topups),
        Input(BALANCE_CREDITS, "Credit notes settled to a balance (from invoicing): booked once each, to the "
              "earliest open month.", balance_credits),
    ]
