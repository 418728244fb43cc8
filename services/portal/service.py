"""The read model's use cases: each Kafka batch applied in one transaction, idempotently.

Every record carries a stable id or a version, so a batch delivered again,
or records relayed out of order, leave the model as it was: balances and
usage days keep their newest version, invoices, documents, events, payments
and dead letters are kept once under their ids. Each batch also moves the
model's time (`touch`): the newest record time applied, which every API
answer reports as `as_of`.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.contracts import (BalanceClosing, ChannelAdded, ChannelCancelled, ClientUpserted, ErrorCode,
                              InvoiceDocument, LedgerClose, LedgerClosed, MonthClose, PartnerUpserted)
from shared.dead_letters import Accepted, Rejected
from shared.topics import (BALANCE_EVENTS, BALANCE_MOVES, COMMANDS, DIRECTORY, INVOICE_DOCUMENTS, INVOICES,
                           LEDGER_CLOSE, LEDGER_CLOSED, LEDGER_ENTRIES, RECONCILIATION, USAGE_DAYS)

from .ports import UnitOfWork


def _latest(accepted: Sequence[Accepted]) -> datetime:
    return datetime.fromtimestamp(max(a.record.timestamp for a in accepted) / 1000, UTC)


async def apply(uow: UnitOfWork, topic: str, accepted: Sequence[Accepted]) -> list[Rejected]:
    """Apply a batch of `topic`; return the records refused (documents whose bytes do not match)."""
    if not accepted:
        return []
    refused: list[Rejected] = []
    async with uow() as store:
        messages = [a.message for a in accepted]
        if topic == DIRECTORY.name:
            await store.upsert_partners([m for m in messages if isinstance(m, PartnerUpserted)])
            await store.upsert_clients([m for m in messages if isinstance(m, ClientUpserted)])
            await store.upsert_channels([m for m in messages if isinstance(m, ChannelAdded)])
            await store.cancel_channels([m for m in messages if isinstance(m, ChannelCancelled)])
        elif topic == BALANCE_MOVES.name:
            await store.move_balances(messages)
        elif topic == USAGE_DAYS.name:
            await store.add_usage_days(messages)
        elif topic == INVOICES.name:
            await store.add_invoices([(a.message, a.record.value) for a in accepted])
        elif topic == INVOICE_DOCUMENTS.name:
            good = []
            for a in accepted:
                why = document_refusal(a.message)
                if why:
                    refused.append(Rejected(a.record, ErrorCode.SCHEMA_INVALID, why))
                else:
                    good.append(a.message)
            await store.add_documents(good)
        elif topic == BALANCE_EVENTS.name:
            await store.add_balance_events(messages)
        elif topic == LEDGER_ENTRIES.name:
            await store.add_ledger_entries(messages)
        elif topic == COMMANDS.name:
            for a in accepted:
                if isinstance(a.message, MonthClose):
                    await store.note_months(a.message.month, "requested_at", _latest([a]))
        elif topic == LEDGER_CLOSE.name:
            for m in messages:
                if isinstance(m, LedgerClose):
                    await store.note_months(m.month, "ledger_close_at", _latest(accepted))
        elif topic == LEDGER_CLOSED.name:
            for a in accepted:
                if isinstance(a.message, LedgerClosed):
                    await store.note_months(a.message.month, "ledger_closed_at", _latest([a]), a.message.balances)
                assert isinstance(a.message, (LedgerClosed, BalanceClosing))
        elif topic == RECONCILIATION.name:
            await store.add_reconciliation(messages)
        elif topic.endswith(".dlq"):
            await store.add_dead_letters([(a.record.topic, a.message) for a in accepted])
        else:
            raise ValueError(f"the portal does not read {topic}")
        await store.touch(topic, _latest(accepted))
    return refused


def document_refusal(doc: InvoiceDocument) -> str | None:
    """Why a document cannot be served as issued: its bytes do not match their own digest or size."""
    try:
        content = doc.content
    except ValueError:
        return "content_base64: not valid base64"
    if len(content) != doc.size:
        return f"size: the content has {len(content)} bytes, not {doc.size}"
    if hashlib.sha256(content).hexdigest() != doc.sha256:
        return "sha256: does not match the content"
    return None
