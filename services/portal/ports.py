"""What the portal's read model needs from the outside world, as protocols.

`adapters/model.py` implements `ModelStore` on PostgreSQL (as the service's own
role, which writes every row); the API reads through `adapters/reads.py`
under row-level security. Every method runs inside the unit of work's one
transaction.
"""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from shared.contracts import (BalanceEvent, BalanceMoved, ChannelAdded, ChannelCancelled, ClientUpserted,
                              DeadLetter, Invoice, InvoiceDocument, LedgerEntry, PartnerUpserted,
                              ReconciliationRan, UsageDay)


class ModelStore(Protocol):
    async def upsert_partners(self, events: Sequence[PartnerUpserted]) -> None:
        """Keep partners (a repeat changes names, plan, address, renewal; never model or currency) and
        open the shared balance of each Partner-Paid one."""

    async def upsert_clients(self, events: Sequence[ClientUpserted]) -> None: ...

    async def upsert_channels(self, events: Sequence[ChannelAdded]) -> None:
        """Keep channels and open the balance of each Direct-Paid one whose partner is known."""

    async def cancel_channels(self, events: Sequence[ChannelCancelled]) -> None: ...

    async def move_balances(self, moves: Sequence[BalanceMoved]) -> None:
        """Take each balance's amount from its newest version; older or repeated ones change nothing."""

    async def add_usage_days(self, days: Sequence[UsageDay]) -> None:
        """Take each (channel, day, category)'s totals from its newest version."""

    async def add_invoices(self, invoices: Sequence[tuple[Invoice, bytes]]) -> None:
        """Keep each invoice once, with the message as received."""

    async def add_documents(self, documents: Sequence[InvoiceDocument]) -> None:
        """Keep each (invoice, format) once: documents are immutable."""

    async def add_balance_events(self, events: Sequence[BalanceEvent]) -> None: ...

    async def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None: ...

    async def add_dead_letters(self, letters: Sequence[tuple[str, DeadLetter]]) -> None:
        """(DLQ topic, dead letter): counted once per refused record and code; payloads are not kept."""

    async def note_months(self, month: str, field: str, at: datetime, balances: int | None = None) -> None:
        """Record a step of a month's close (requested, ledger_close, ledger_closed)."""

    async def add_reconciliation(self, runs: Sequence[ReconciliationRan]) -> None: ...

    async def touch(self, topic: str, latest_event_at: datetime) -> None:
        """The read model has applied `topic` up to a record of this time."""


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ModelStore]:
        """A transaction: committed when the block exits normally, rolled back on an exception."""
