"""Credit notes (CONTRACT.md §3.5 `invoice.credit`, §3.7 `credit_note`) as pure functions.

A credit note corrects one issued invoice: it repeats the corrected lines with
the amount credited (positive: what the recipient is owed back), never more
than what earlier credit notes left of a line, and is taxed with the corrected
invoice's own treatment and rate, so a correction never changes the tax of
what it corrects. With `settle: credit_balance` its total goes back to the
prepaid balance the invoice belongs to.
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from shared.contracts import (Account, BalanceCredit, ContractViolation, Corrects, ErrorCode, Invoice,
                              InvoiceCredit, InvoiceLine, Tax)
from shared.money import round_line

from .documents import invoice_id
from .tax import UNTAXED_CODES

Credits = list[tuple[int, Decimal]]
"""(position on the corrected invoice, amount credited), in line order."""

ZERO = Decimal("0.00")


def credit_note_id(command_id: str) -> str:
    """Stable: one command, one credit note, however often the command arrives."""
    return invoice_id("credit_note", command_id)


def names_no_invoice(invoice_id_: str) -> bool:
    """Invoice ids are UUIDs; anything else can never name one, now or later."""
    try:
        uuid.UUID(invoice_id_)
    except ValueError:
        return True
    return False


def left_to_credit(invoice: Invoice, credited: Mapping[int, Decimal]) -> list[Decimal]:
    """What each line can still be credited: its amount less earlier credits (nothing on a line that
    invoiced nothing, such as `settled_with_credit_balance`)."""
    return [max(line.amount, ZERO) - credited.get(n, ZERO) for n, line in enumerate(invoice.lines)]


def plan(invoice: Invoice, command: InvoiceCredit, credited: Mapping[int, Decimal]) -> Credits:
    """The amounts to credit per line; ContractViolation says why the command is refused."""
    if invoice.kind == "credit_note":
        raise ContractViolation(ErrorCode.UNKNOWN_INVOICE, f"invoice_id: {invoice.invoice_id} is credit note "
                                f"{invoice.number}; only an invoice can be credited")
    left = left_to_credit(invoice, credited)
    if command.lines is None:
        everything = [(n, amount) for n, amount in enumerate(left) if amount > 0]
        if not everything:
            raise ContractViolation(ErrorCode.CREDIT_EXCEEDS_INVOICE,
                                    f"lines: nothing is left to credit on {invoice.number}")
        return everything
    wanted: Credits = []
    for i, asked in enumerate(command.lines):
        if asked.line >= len(left):
            raise ContractViolation(ErrorCode.CREDIT_EXCEEDS_INVOICE, (
                f"lines.{i}.line: {invoice.number} has {len(left)} lines (0 to {len(left) - 1}), "
                f"no line {asked.line}"))
        if asked.amount > left[asked.line]:
            raise ContractViolation(ErrorCode.CREDIT_EXCEEDS_INVOICE, (
                f"lines.{i}.amount: {asked.amount} is more than the {max(left[asked.line], ZERO)} left to "
                f"credit on line {asked.line} of {invoice.number}"))
        wanted.append((asked.line, asked.amount))
    return sorted(wanted)


def balance_of(invoice: Invoice) -> Account | None:
    """The prepaid balance an invoice belongs to: a Partner-Paid partner's shared balance for any of
    its invoices; a Direct-Paid channel's own for the channel's invoices; none for a Direct-Paid
    partner's plan (that partner has no balance)."""
    if invoice.billing_model == "partner_paid":
        return Account(partner_id=invoice.partner_id)
    if invoice.channel_id is not None:
        return Account(channel_id=invoice.channel_id)
    return None


def check_settle(invoice: Invoice, command: InvoiceCredit) -> None:
    """`credit_balance` needs a balance to credit; ContractViolation when there is none."""
    if command.settle == "credit_balance" and balance_of(invoice) is None:
        raise ContractViolation(ErrorCode.UNKNOWN_ACCOUNT, (
            f"settle: {invoice.number} bills Direct-Paid partner {invoice.partner_id}, which has no balance "
            "to credit; settle it payable"))


def compose_credit_note(invoice: Invoice, command: InvoiceCredit, credits: Credits, number: str,
                        issued_at: datetime) -> Invoice:
    """The credit note: the corrected lines at the credited amounts, the invoice's own tax rate on the
    taxable ones, rounded once."""
    lines = [_credited(invoice.lines[n], amount) for n, amount in credits]
    subtotal = sum((line.amount for line in lines), ZERO)
    taxable = sum((line.amount for line in lines if line.code not in UNTAXED_CODES), ZERO)
    tax = Tax(treatment=invoice.tax.treatment, rate=invoice.tax.rate, amount=round_line(taxable * invoice.tax.rate))
    return Invoice(invoice_id=credit_note_id(command.command_id), number=number, kind="credit_note",
                   billing_model=invoice.billing_model, recipient=invoice.recipient, partner_id=invoice.partner_id,
                   client_id=invoice.client_id, channel_id=invoice.channel_id, period=invoice.period,
                   issued_at=issued_at, currency=invoice.currency, lines=lines, subtotal=subtotal, tax=tax,
                   total=subtotal + tax.amount, summary=None,
                   corrects=Corrects(invoice_id=invoice.invoice_id, number=invoice.number),
                   reason=command.reason, settle=command.settle)


_AMOUNTS = {"quantity", "unit_price", "amount"}


def _credited(line: InvoiceLine, amount: Decimal) -> InvoiceLine:
    return line.model_copy(update={"quantity": Decimal("1"), "unit_price": amount, "amount": amount})


def credits_of(note: Invoice, invoice: Invoice) -> Credits:
    """What a credit note credited per line of the invoice it corrects, read back from the note alone
    (recovery after a restore): its lines repeat the corrected lines, in their order, at the amounts
    credited. ValueError when a line of the note is not on the invoice."""
    credits: Credits = []
    start = 0
    for i, line in enumerate(note.lines):
        same = line.model_dump(exclude=_AMOUNTS)
        n = next((n for n in range(start, len(invoice.lines))
                  if invoice.lines[n].model_dump(exclude=_AMOUNTS) == same), None)
        if n is None:
            raise ValueError(f"{note.number} line {i} ({line.description}) is not a line of {invoice.number}")
        credits.append((n, line.amount))
        start = n + 1
    return credits


def balance_credit(note: Invoice, invoice: Invoice) -> BalanceCredit:
    """What the balance books for a `credit_balance` credit note: its total, tax included."""
    account = balance_of(invoice)
    assert account is not None  # check_settle came first
    return BalanceCredit(credit_id=note.invoice_id, number=note.number, corrects_invoice_id=invoice.invoice_id,
                         balance=account, partner_id=invoice.partner_id,
                         client_id=invoice.client_id if account.channel_id else None,
                         billing_model=invoice.billing_model, currency=invoice.currency, amount=note.total,
                         issued_at=note.issued_at)
