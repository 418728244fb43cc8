"""What the usage ingest service needs from the outside world, as protocols.

The PostgreSQL adapter (`adapters/postgres.py`) implements them for real; the
unit tests implement them in memory. Every method runs inside the unit of
work's one transaction.
"""

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.contracts import ChannelAdded, ChannelCancelled, ClientUpserted, LightPricedUsage, PartnerUpserted, RateCard

from .domain.accounts import ChannelAccount, KnownPartner
from .domain.charging import MessageState
from .domain.days import DayDelta
from .domain.pricing import RateBook
from .domain.tiers import TierKey


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a status record sits in Kafka: enough to dead-letter it later without keeping its payload."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    message_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A record that cannot be settled yet, and why: `unknown_channel` or `no_rate` (the DLQ code
    it gets if it is still held after the hold time), with a sentence for the dead letter."""

    ref: RecordRef
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Tally:
    """One settled message, counted per channel, month and category (free ones included)."""

    channel_id: str
    usage_month: str
    category: str
    charged: bool


class UsageStore(Protocol):
    async def lock_messages(self, keys: Collection[tuple[str, str]]) -> dict[str, MessageState]:
        """The states of these (message id, channel id), locked until commit; new ones are created."""

    async def save_messages(self, states: Sequence[MessageState]) -> None: ...

    async def channel_accounts(self, channel_ids: Collection[str]) -> dict[str, ChannelAccount]:
        """The channels that are known with their partner; unknown ones are absent."""

    async def ratebook(self) -> RateBook: ...

    async def ratebook_version(self) -> int | None:
        """Grows whenever a rate card is added or replaced."""

    async def claim_conversations(self, claims: Sequence[tuple[str, str]]) -> set[str]:
        """Claim (conversation id, message id) pairs; return the message ids that won their conversation."""

    async def advance_tiers(self, increments: Mapping[TierKey, int]) -> dict[TierKey, int]:
        """Add to these volume counts (created at 0); return each one's count before. The counts stay
        locked until commit, taken in one fixed order so that two instances never deadlock."""

    async def emit(self, usage: Sequence[LightPricedUsage]) -> None:
        """Queue priced usage for the balance service (transactional outbox)."""

    async def count(self, tallies: Sequence[Tally]) -> None: ...

    async def add_usage_days(self, days: Sequence[DayDelta]) -> None:
        """Add to the running totals per (channel, day, category) and queue them for the portal (outbox)."""

    async def hold(self, holds: Sequence[Hold], at: datetime) -> None:
        """Hold records (a record held already keeps its hold time and takes the new reason)."""

    async def held_for_channels(self, channel_ids: Collection[str]) -> list[tuple[str, str]]:
        """(message id, channel id) of the messages held because these channels were unknown."""

    async def held_for_rates(self, limit: int) -> list[tuple[str, str]]:
        """(message id, channel id) of the messages held for want of a rate."""

    async def mark_no_rate(self, details: dict[str, str]) -> None:
        """These messages' holds (message id → why) are now for want of a rate."""

    async def release(self, message_ids: Collection[str]) -> list[RecordRef]:
        """Forget the held records of these messages; return them."""

    async def expired_holds(self, held_before: datetime, limit: int) -> list[Hold]:
        """Holds older than the hold time, locked (skipping those another instance has)."""

    async def known_channels_with_holds(self, limit: int, partner_ids: Collection[str] | None = None) -> list[str]:
        """Channels held as unknown that are now known, partner included (of these partners, if given)."""

    async def dead_letter_later(self, refs: Sequence[RecordRef], code: str, reason: str) -> None:
        """Queue dead letters of records not in hand; a relay re-reads them from Kafka."""

    async def partner(self, partner_id: str) -> KnownPartner | None: ...

    async def upsert_partner(self, event: PartnerUpserted) -> None: ...

    async def upsert_client(self, event: ClientUpserted) -> None: ...

    async def upsert_channel(self, event: ChannelAdded) -> None: ...

    async def cancel_channel(self, event: ChannelCancelled) -> None: ...

    async def upsert_ratecard(self, card: RateCard) -> None: ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[UsageStore]:
        """A transaction: committed when the block exits normally, rolled back on an exception."""
