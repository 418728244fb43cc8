"""Invoices from their lines: totals, tax, the month-closing lines and summary, stable ids."""

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from shared.contracts import (BalanceClosing, Invoice, InvoiceLine, InvoiceSummary, LedgerEntry, Recipient,
                              UsageLine)
from shared.money import plain, round_line

from .fees import card_fee
from .tax import UNTAXED_CODES, tax
from .volume_tiers import tier_breakdown

_IDS = uuid.UUID("0b6f7f2e-6a43-4b8c-9d1e-8c3f5a2d7e90")


def invoice_id(*key: str) -> str:
    """Stable: the same invoice (kind and subject and period) always gets the same id."""
    return str(uuid.uuid5(_IDS, "/".join(key)))


def compose(*, invoice_id: str, number: str, kind: str, billing_model: str, recipient: Recipient,
            partner_id: str, period: str, issued_at: datetime, currency: str, lines: list[InvoiceLine],
            client_id: str | None = None, channel_id: str | None = None,
            summary: InvoiceSummary | None = None) -> Invoice:
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    taxable = sum((line.amount for line in lines if line.code not in UNTAXED_CODES), Decimal("0.00"))
    levy = tax(recipient.country, recipient.vat_id, taxable)
    return Invoice(invoice_id=invoice_id, number=number, kind=kind, billing_model=billing_model,
                   recipient=recipient, partner_id=partner_id, client_id=client_id, channel_id=channel_id,
                   period=period, issued_at=issued_at, currency=currency, lines=lines,
                   subtotal=round_line(subtotal), tax=levy, total=round_line(subtotal + levy.amount),
                   summary=summary)


def prepayment_line(entry: LedgerEntry) -> InvoiceLine:
    return InvoiceLine(code="prepayment", quantity="1", unit_price=entry.amount, amount=round_line(entry.amount),
                       description=f"Prepayment of the credit balance ({entry.method}, {entry.entry_id})",
                       service_month=entry.booked_month, client_id=entry.client_id, channel_id=entry.channel_id)


def closing_lines(closing: BalanceClosing | None, month: str) -> list[InvoiceLine]:
    """`usage` per (channel, category) of the month, `late_usage` per usage month before it,
    `settled_with_credit_balance` for their total, a `transaction_fee` per card payment."""
    if closing is None:
        return []
    # One line per (channel, category, usage month), whatever volume-tier bands its messages were in.
    grouped: dict[tuple[str, str, str, str], list[UsageLine]] = defaultdict(list)
    for u in closing.usage_lines:
        grouped[(u.channel_id, u.client_id, u.category, u.usage_month)].append(u)
    lines: list[InvoiceLine] = []
    for (channel_id, client_id, category, usage_month), parts in sorted(
            grouped.items(), key=lambda kv: (kv[0][3] != month, kv[0][0], kv[0][3], kv[0][2])):
        late = usage_month != month
        quantity = sum(u.quantity for u in parts)
        exact = sum((u.amount for u in parts), Decimal(0))
        lines.append(InvoiceLine(
            code="late_usage" if late else "usage", category=category,
            usage_month=usage_month if late else None, service_month=usage_month,
            quantity=str(quantity), unit_price=plain(exact / quantity) if quantity else Decimal("0"),
            amount=round_line(exact), client_id=client_id, channel_id=channel_id,
            description=(f"{'Late usage' if late else 'Usage'} {category}, {channel_id}, {usage_month}: "
                         f"{quantity} {'message' if quantity == 1 else 'messages'}{tier_breakdown(parts)}")))
    if lines:
        used = sum((line.amount for line in lines), Decimal("0.00"))
        lines.append(InvoiceLine(code="settled_with_credit_balance", quantity="1", unit_price=-used,
                                 amount=-used, service_month=month,
                                 description=f"Settled with the credit balance, {month}"))
    for p in closing.payments:
        if p.method == "card":
            fee = card_fee(p.amount)
            lines.append(InvoiceLine(code="transaction_fee", quantity="1", unit_price=fee, amount=fee,
                                     service_month=month,
                                     description=f"Card transaction fee, 4 % of {p.payment_id} ({p.amount})"))
    return lines


def summary_of(closing: BalanceClosing | None) -> InvoiceSummary:
    if closing is None:
        zero = Decimal("0.00")
        return InvoiceSummary(starting_balance=zero, added_funds=zero, credits=zero, usage=zero, refunds=zero,
                              ending_balance=zero)
    return InvoiceSummary(starting_balance=closing.starting_balance, added_funds=closing.added_funds,
                          credits=closing.credits, usage=closing.usage, refunds=closing.refunds,
                          ending_balance=closing.ending_balance)


def has_activity(closing: BalanceClosing | None) -> bool:
    """A Direct-Paid channel gets a month-closing invoice only with charged usage or a card payment."""
    return closing is not None and (bool(closing.usage_lines)
                                    or any(p.method == "card" for p in closing.payments))
