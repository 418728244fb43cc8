"""The portal's Kafka inputs: each batch of a topic goes to the read model in one transaction.

The portal owns the dead letters of the internal feeds made for it (balance
moves, usage days, invoice documents, reconciliation runs); of the other
topics it reads, a record their owner refuses is skipped here.
"""

from collections.abc import Callable

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.settings import PortalSettings
from shared.topics import (ALL_TOPICS, BALANCE_EVENTS, BALANCE_MOVES, COMMANDS, DIRECTORY, INVOICE_DOCUMENTS,
                           INVOICES, LEDGER_CLOSE, LEDGER_CLOSED, LEDGER_ENTRIES, RECONCILIATION, Topic, USAGE_DAYS)

from . import service
from .ports import UnitOfWork


def _apply(uow: UnitOfWork, topic: str, after: Callable[[], None]):
    async def process(accepted: list[Accepted]) -> list[Rejected]:
        refused = await service.apply(uow, topic, accepted)
        after()
        return refused

    return process


def inputs(uow: UnitOfWork, settings: PortalSettings, applied: Callable[[], None] = lambda: None) -> list[Input]:
    """`applied` runs after each batch committed (the API refreshes the model's time)."""

    def read(topic: Topic, description: str, owns: bool, **kw) -> Input:
        return Input(topic, description, _apply(uow, topic.name, applied), owns_dead_letters=owns, **kw)

    dlqs = [t.dlq for t in ALL_TOPICS if t.has_dlq]
    return [
        read(DIRECTORY, "Partners, clients and channels (§3.2): who owns what, and who sees it.", False),
        read(BALANCE_MOVES, "Each balance's amount after a move (from balance).", True),
        read(USAGE_DAYS, "Running totals per channel, day and category (from usage ingest).", True),
        read(INVOICES, "Invoices (§3.7), kept as issued.", False),
        read(INVOICE_DOCUMENTS, "Invoice documents (PDF/A-3, CII, XRechnung), served byte for byte.", True,
             max_bytes=settings.documents_max_bytes),
        read(BALANCE_EVENTS, "Low, top-up requested, depleted, restored (§3.6): a balance's history.", False),
        read(LEDGER_ENTRIES, "Payments and refunds the ledger accepted: a balance's top-ups.", False),
        read(COMMANDS, "month.close (§3.5): months asked to close.", False),
        read(LEDGER_CLOSE, "A month's ledger asked to close (the close's barrier passed).", False),
        read(LEDGER_CLOSED, "A month's ledger closed.", False),
        read(RECONCILIATION, "Each reconciliation run's result (finance view).", True),
        *(Input(Topic(dlq, 1, False, "original key"), "Dead letters, counted per topic and code for finance "
                "(payloads, which can hold personal data, are not kept).", _apply(uow, dlq, applied),
                owns_dead_letters=False, max_bytes=settings.dead_letters_max_bytes) for dlq in dlqs),
    ]
