"""Credit notes: one per `invoice.credit` command (CONTRACT.md §3.5, §3.7).

A credit note is recorded exactly as an invoice is (`store.save_invoice`:
the invoices table and the outbox, in one transaction) with a number of its
own gapless `CN-` sequence, so whatever an issued invoice gets (publication,
documents) a credit note gets too. In the same transaction: what it credits
per line (under a constraint that refuses over-crediting), and, settled to
the balance, the balance credit for the balance service (outbox). Its id is
derived from the command id, so a command read twice issues one.

An invoice not recorded yet is waited for (held) before `unknown_invoice`: a
restore replays the commands before the closes that issue the invoices again.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from aiokafka import ConsumerRecord

from shared.contracts import ContractViolation, ErrorCode, InvoiceCredit, MonthClose, decode, encode
from shared.dead_letters import Accepted, Rejected
from shared.logging import get_logger
from shared.outbox import OutboxRecord
from shared.topics import BALANCE_CREDITS

from . import service
from .domain.credit_notes import (balance_credit, check_settle, compose_credit_note, credit_note_id,
                                  names_no_invoice, plan)
from .ports import HeldCredit, InvoiceStore, Offsets, UnitOfWork

log = get_logger(__name__)

Refusal = tuple[ErrorCode, str]


async def apply_commands(uow: UnitOfWork, offsets: Offsets, accepted: Sequence[Accepted], now: datetime,
                         hold_s: float) -> list[Rejected]:
    """`billing.commands.v1` in order, in one transaction: month closes and credit notes."""
    refused: list[Rejected] = []
    async with uow() as store:
        for a in accepted:
            command = a.message
            if isinstance(command, MonthClose):
                await service.request_month(store, offsets, command.month, command.command_id)
                continue
            why = await _credit_or_hold(store, a.record, command, now, hold_s)
            if why is not None:
                refused.append(Rejected(a.record, *why))
    return refused


async def _credit_or_hold(store: InvoiceStore, record: ConsumerRecord, command: InvoiceCredit, now: datetime,
                          hold_s: float) -> Refusal | None:
    # A later credit of an invoice waits behind a held one: credits of one invoice apply in command order.
    behind = await store.holds_credit_for(command.invoice_id)
    unknown = not names_no_invoice(command.invoice_id) and await store.invoice(command.invoice_id) is None
    if hold_s <= 0 or not (behind or unknown):
        return await issue_credit_note(store, command, now)
    await store.hold_credit(HeldCredit(record.topic, record.partition, record.offset, record.key, record.value,
                                       command.invoice_id, now))
    log.info("credit held until its invoice is recorded", command_id=command.command_id,
             invoice_id=command.invoice_id)
    return None


async def issue_credit_note(store: InvoiceStore, command: InvoiceCredit, now: datetime) -> Refusal | None:
    """Issue the command's credit note unless it exists; or why it is refused."""
    note_id = credit_note_id(command.command_id)
    if await store.has_invoice(note_id):
        log.info("credit note already issued", command_id=command.command_id, invoice_id=note_id)
        return None
    invoice = None if names_no_invoice(command.invoice_id) else await store.invoice(command.invoice_id)
    if invoice is None:
        return ErrorCode.UNKNOWN_INVOICE, f"invoice_id: no invoice {command.invoice_id}"
    try:
        credits = plan(invoice, command, await store.credited(invoice.invoice_id))
        check_settle(invoice, command)
    except ContractViolation as refused:
        return refused.code, refused.message
    note = compose_credit_note(invoice, command, credits, await store.next_number(now.year, "CN"), now)
    await store.save_invoice(note)
    await store.record_credits(note_id, invoice, credits)
    if note.settle == "credit_balance":
        credit = balance_credit(note, invoice)
        await store.emit([OutboxRecord(BALANCE_CREDITS.name, credit.balance.owner_id.encode(), encode(credit))])
    log.info("credit note issued", invoice_number=note.number, invoice_id=note_id, corrects=invoice.number,
             settle=note.settle, total=str(note.total), currency=note.currency)
    return None


async def retry_held_credits(uow: UnitOfWork, now: datetime, hold_s: float,
                             dead_letter: Callable[[list[Rejected]], Awaitable[None]], limit: int = 500) -> int:
    """Issue the held credits whose invoice is recorded now; refuse as unknown_invoice those held too long.

    Refusals are dead-lettered before the transaction commits, as a consumer does before it commits its
    offsets: a crash in between dead-letters them again, never loses them. Returns how many were settled.
    """
    async with uow() as store:
        held = await store.held_credits(limit)
        done: list[HeldCredit] = []
        refused: list[Rejected] = []
        for h in held:
            command = decode(h.topic, h.value, max_bytes=1 << 30)  # it passed the gate before it was held
            assert isinstance(command, InvoiceCredit)
            record = ConsumerRecord(h.topic, h.partition, h.offset, 0, 0, h.key, h.value, None, 0, 0, ())
            if await store.invoice(h.invoice_id) is None and now - h.held_at < timedelta(seconds=hold_s):
                continue
            why = await issue_credit_note(store, command, now)
            if why is not None:
                refused.append(Rejected(record, *why))
            done.append(h)
        await store.release_credits(done)
        await dead_letter(refused)
    return len(done)
