"""Before invoicing issues anything, it learns what it had already published.

Its output topics are the record of what accounting received. After the
database is restored from a backup, the invoices published since the backup
are on `billing.invoices.v1` and nowhere else: issued again, they would get
new numbers (reusing numbers accounting already holds under other invoices)
and a new issue date. So at every start, before any record is consumed,
invoicing reads its topics from how far its publications reached when the
database was last written (`shared/published_positions.py`; on the very first
start, the topics' ends) to where they end now. Every numbered document there
that this database published (the relay puts its origin in a header: a
restored database keeps its origin, another database writing the same topic
has another) and that it lacks is recorded again as published (same id, number and
content, what it billed marked billed), and every number sequence continues
after the highest number published. When nothing is missing, this reads
nothing but the end offsets.

Documents are told apart by their number's prefix (`INV`, `CN`): each prefix
has an adopter, and every adopted document goes through `after_adopted`.
An adopted invoice or credit note is queued for its PDF and XML again (they
are deterministic given the invoice, so they come out byte for byte as
before); a credit note also gets back what it credited per line and, settled
to the balance, its balance credit.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from shared.contracts import Invoice, encode
from shared.logging import get_logger
from shared.outbox import OutboxRecord
from shared.published_positions import published_by
from shared.topics import BALANCE_CREDITS

from .domain.credit_notes import balance_credit, credits_of
from .domain.published import Numbered, billed_by, numbered
from .ports import PublishedLog, Recovering, RecoveryUnitOfWork

log = get_logger(__name__)

Adopt = Callable[[Recovering, Numbered], Awaitable[Invoice | None]]
AfterAdopted = Callable[[Recovering, Invoice], Awaitable[None]]


class PublishedConflict(RuntimeError):
    """A published document contradicts the database (one id, two numbers): a person must look."""


async def adopt_invoice(store: Recovering, doc: Numbered) -> Invoice | None:
    """Record a published invoice the database lacks; None if it has it (under the same number)."""
    invoice = Invoice.model_validate_json(doc.value)
    known = await store.invoice_number(invoice.invoice_id)
    if known == invoice.number:
        return None
    if known is not None:
        raise PublishedConflict(f"invoice {invoice.invoice_id} was published as {invoice.number} but the database "
                                f"has it as {known}")
    await store.record_published(invoice, doc.value, billed_by(invoice))
    return invoice


async def adopt_credit_note(store: Recovering, doc: Numbered) -> Invoice | None:
    """A published credit note the database lacks: recorded as an invoice is, with what it credited per
    line (so later credits are still capped), and, settled to the balance, its balance credit queued
    again: the balance books a credit note once (its business id), and the restored outbox may have lost
    it before it went out."""
    note = await adopt_invoice(store, doc)
    if note is None:
        return None
    corrected = await store.invoice(note.corrects.invoice_id) if note.corrects else None
    if corrected is None:  # published after what it corrects, on the same partition: adopted before it
        raise PublishedConflict(f"credit note {note.number} corrects an invoice the database does not have")
    await store.record_credits(note.invoice_id, corrected, credits_of(note, corrected))
    if note.settle == "credit_balance":
        credit = balance_credit(note, corrected)
        await store.emit([OutboxRecord(BALANCE_CREDITS.name, credit.balance.owner_id.encode(), encode(credit))])
    return note


ADOPTERS: dict[str, Adopt] = {"INV": adopt_invoice, "CN": adopt_credit_note}


@dataclass
class Recovered:
    read: int = 0
    adopted: list[str] = field(default_factory=list)  # numbers recorded again
    sequences: dict[tuple[str, int], int] = field(default_factory=dict)  # (prefix, year) → highest published


async def recover(uow: RecoveryUnitOfWork, published: PublishedLog, topics: Sequence[str],
                  adopters: Mapping[str, Adopt] = ADOPTERS, after_adopted: Sequence[AfterAdopted] = ()) -> Recovered:
    """Adopt every document published past the recorded reach, in one transaction; see the module's doc."""
    result = Recovered()
    async with uow() as store:
        await store.hold_recovery_lock()
        reach = await store.published_reach(topics)
        ends = {TopicPartition(t, p): o for t in topics for p, o in (await published.end_offsets(t)).items()}
        first = {tp: o for tp, o in ends.items() if tp not in reach}
        if first:  # nothing recorded: what the topics hold so far is not this database's
            await store.advance_reach(first, only_new=True)
        start = {**first, **reach}
        origin = await store.origin()
        records = [r for r in await published.read({tp: start[tp] for tp in ends}, ends)
                   if published_by(r.headers, origin)]
        result.read = len(records)
        for doc in filter(None, (numbered(r.value) for r in records)):
            adopt = adopters.get(doc.prefix)
            if adopt is None:
                raise PublishedConflict(f"{doc.number} ({doc.document_id}): no adopter for the prefix {doc.prefix}")
            result.sequences[doc.sequence] = max(result.sequences.get(doc.sequence, 0), doc.n)
            invoice = await adopt(store, doc)
            if invoice is not None:
                result.adopted.append(doc.number)
                for hook in after_adopted:
                    await hook(store, invoice)
        for (prefix, year), n in sorted(result.sequences.items()):
            await store.raise_sequence(prefix, year, n)
        await store.advance_reach(ends)
    if result.adopted:
        log.warning("published documents the database lacked were recorded again (restored from a backup?)",
                    adopted=len(result.adopted), first=result.adopted[0], last=result.adopted[-1],
                    sequences={f"{p}-{y}": n for (p, y), n in result.sequences.items()})
    return result
