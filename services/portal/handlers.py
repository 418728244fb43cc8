"""The portal's Kafka inputs: each batch is applied to the read model one topic at a time.

Three subscribers read every topic the model needs (one consumer each, so
that the group does not rebalance once per topic at start-up): balance
moves alone (a balance is never held up behind other records), the other
feeds made for the portal, whose dead letters it owns (usage days, invoice
documents, reconciliation runs), and the topics other services own (the directory, invoices, balance events, ledger entries,
months, every DLQ), of which a record their owner refuses is skipped here.
"""

from collections.abc import Callable

from shared.consumer import Input
from shared.dead_letters import Accepted, Rejected
from shared.settings import PortalSettings
from shared.topics import (ALL_TOPICS, BALANCE_EVENTS, DLQ_PARTITIONS, Topic, BALANCE_MOVES, COMMANDS, DIRECTORY, INVOICE_DOCUMENTS,
                           INVOICES, LEDGER_CLOSE, LEDGER_CLOSED, LEDGER_ENTRIES, RECONCILIATION, USAGE_DAYS)

from . import service
from .ports import UnitOfWork

OWNED = (BALANCE_MOVES, USAGE_DAYS, INVOICE_DOCUMENTS, RECONCILIATION)
READ = (DIRECTORY, INVOICES, BALANCE_EVENTS, LEDGER_ENTRIES, COMMANDS, LEDGER_CLOSE, LEDGER_CLOSED)


def _by_topic(uow: UnitOfWork, applied: Callable[[], None]):
    async def process(accepted: list[Accepted]) -> list[Rejected]:
        topics: dict[str, list[Accepted]] = {}
        for a in accepted:  # records of one partition keep their order
            topics.setdefault(a.record.topic, []).append(a)
        refused: list[Rejected] = []
        for topic, batch in topics.items():
            refused += await service.apply(uow, topic, batch)
        applied()
        return refused

    return process


def inputs(uow: UnitOfWork, settings: PortalSettings, applied: Callable[[], None] = lambda: None) -> list[Input]:
    """`applied` runs after each batch committed."""
    dlqs = tuple(Topic(t.dlq, DLQ_PARTITIONS, False, "original key") for t in ALL_TOPICS if t.has_dlq)
    return [
        Input(BALANCE_MOVES, "Each balance after a move (balance): alone, so that a backlog of other records "
              "never delays a balance.", _by_topic(uow, applied), max_bytes=settings.max_record_bytes),
        Input(OWNED[1], "The other feeds made for the read model: running usage totals per channel, day and "
              "category (usage ingest), invoice documents served byte for byte (invoicing), reconciliation runs "
              "(the reconciler).", _by_topic(uow, applied), extra_topics=OWNED[2:],
              max_bytes=settings.max_record_bytes),
        Input(READ[0], "Who owns what (§3.2), invoices as issued (§3.7), balance events (§3.6), payments and "
              "refunds, months asked to close and closed, and every DLQ, counted per topic and code for finance "
              "(payloads, which can hold personal data, are not kept).", _by_topic(uow, applied),
              owns_dead_letters=False, extra_topics=READ[1:] + dlqs, max_bytes=settings.max_record_bytes),
    ]
