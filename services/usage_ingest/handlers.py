"""The usage ingest's Kafka inputs: each batch goes to a use case in one transaction."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.topics import DIRECTORY, MESSAGE_STATUS, RATECARDS

from . import service
from .domain.participants import ParticipantKeys
from .ports import UnitOfWork


def inputs(uow: UnitOfWork, flush: Callable[[], Awaitable[None]], keys: ParticipantKeys,
           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Input]:
    """`flush` publishes the outbox; it runs before a batch's offsets are committed. `keys` names the
    participants of group messages."""

    async def statuses(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.ingest_statuses(uow, accepted, clock(), keys)
        await flush()
        return refused

    async def directory(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_directory(uow, accepted)
        await flush()
        return refused

    async def ratecards(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply_ratecards(uow, accepted)
        await flush()
        return refused

    # Inputs start in this order (shared/service.py): the directory and the rate cards before the
    # statuses, so that at start-up statuses find them rather than being held, and the statuses'
    # consumer, the busy one, joins its group last instead of being rebalanced by the later joins.
    return [
        Input(DIRECTORY, "Partners, clients and channels (§3.2): whose balance a channel's usage debits. "
              "Usage ingest owns this topic's dead letters (billing_model_change, currency_mismatch).",
              directory),
        Input(RATECARDS, "Rate cards (§3.3): what a delivered message costs.", ratecards),
        Input(MESSAGE_STATUS, "WhatsApp message statuses (CONTRACT.md §3.1): deduplicated per status.id, "
              "charged once delivered and priced (§4.1).", statuses),
    ]
