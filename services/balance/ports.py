"""What the balance service needs from the outside world, as protocols.

`adapters/postgres.py` implements them on PostgreSQL; the unit tests in memory.
Every method runs inside the unit of work's one transaction.
"""

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.contracts import BalanceClosing, ChannelAdded, ChannelCancelled, PartnerUpserted, TopupRequest
from shared.outbox import OutboxRecord

from .domain.ledger import BalanceState, Entry


@dataclass(frozen=True, slots=True)
class BalanceSpec:
    """A balance to open if it does not exist: the partner's (Partner-Paid) or a channel's (Direct-Paid)."""

    owner_id: str
    kind: str  # "partner" or "channel"
    partner_id: str
    client_id: str | None
    billing_model: str
    currency: str


@dataclass(frozen=True, slots=True)
class HeldPayment:
    """A payment or refund for an account the directory has not shown yet, kept to retry."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    held_at: datetime


class BalanceStore(Protocol):
    async def last_closed(self, for_update: bool = False) -> str | None:
        """The last closed booking month, locked shared (movements) or exclusive (a close)."""

    async def open_balances(self, specs: Sequence[BalanceSpec]) -> None:
        """Open the balances that do not exist yet, at 0."""

    async def lock_balances(self, owner_ids: Collection[str]) -> dict[str, BalanceState]:
        """The existing balances among these owners, locked until commit (in a fixed order)."""

    async def write_entries(self, entries: Sequence[Entry]) -> list[Entry]:
        """Write the entries whose (kind, business id) is new; return those, in order."""

    async def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (kind, business id) the ledger already has."""

    async def save_balances(self, states: Sequence[BalanceState]) -> None:
        """Store amounts, pending top-ups and event counters."""

    async def count_moves(self, owner_ids: Collection[str]) -> dict[str, int]:
        """Count one more move of each of these (locked) balances; return each one's new count."""

    async def record_topup_request(self, request: TopupRequest) -> bool:
        """Keep a top-up request under its id; False when it was kept before."""

    async def active_channels(self, balance: BalanceState) -> list[str]:
        """The channels that pause with this balance: every active channel of a Partner-Paid
        partner, or the Direct-Paid channel itself."""

    async def emit(self, records: Sequence[OutboxRecord]) -> None: ...

    async def partner_account(self, partner_id: str) -> tuple[str, str] | None:
        """The partner's (billing model, currency), if the directory has shown it."""

    async def channel_partner_model(self, channel_id: str) -> str | None: ...

    async def upsert_partner(self, event: PartnerUpserted) -> None: ...

    async def upsert_channel(self, event: ChannelAdded) -> BalanceSpec | None:
        """Keep the channel; the balance to open for it (Direct-Paid), if its partner is known."""

    async def cancel_channel(self, event: ChannelCancelled) -> None: ...

    async def hold_payment(self, held: HeldPayment) -> None: ...

    async def held_payments(self, limit: int) -> list[HeldPayment]:
        """Held payments, locked (skipping those another instance has)."""

    async def release_payments(self, held: Sequence[HeldPayment]) -> None: ...

    async def summarize(self, month: str, close_id: str) -> list[BalanceClosing]:
        """Every balance's closing for a month: booked movements, usage lines, payments."""

    async def save_closings(self, closings: Sequence[BalanceClosing]) -> None: ...

    async def saved_closings(self, month: str) -> list[BalanceClosing]: ...

    async def set_last_closed(self, month: str) -> None: ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[BalanceStore]:
        """A transaction: committed when the block exits normally, rolled back on an exception."""
