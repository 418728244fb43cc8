"""Invoices from their lines (CONTRACT.md §3.7, §4.2, §4.3): totals, tax, month-closing lines, summary,
stable ids, as pure functions."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.invoicing.domain.documents import (closing_lines, compose, has_activity, invoice_id,
                                                 prepayment_line, summary_of)
from shared.contracts import (Account, BalanceClosing, InvoiceLine, InvoiceSummary, LedgerEntry, PaymentLine,
                              Recipient, Tax, UsageLine)

D = Decimal
ISSUED = datetime(2026, 3, 1, 0, 0, 7, tzinfo=UTC)
ACME = Recipient(type="partner", id="acmePA", name="Acme Messaging GmbH", country="DE", vat_id="DE123456789")


def usage(channel_id: str, category: str, month: str, quantity: int, amount: str,
          client_id: str = "bobCL") -> UsageLine:
    return UsageLine(channel_id=channel_id, client_id=client_id, category=category, usage_month=month,
                     quantity=quantity, amount=D(amount))


def pay(payment_id: str, amount: str, method: str = "card", at: str = "2026-02-02T08:00:00Z") -> PaymentLine:
    return PaymentLine(payment_id=payment_id, method=method, amount=D(amount),
                       paid_at=datetime.fromisoformat(at.replace("Z", "+00:00")))


def closing(usage_lines: list[UsageLine] = (), payments: list[PaymentLine] = (), month: str = "2026-02",
            starting: str = "0.00", added: str = "0.00", used: str = "0.00", refunds: str = "0.00",
            ending: str = "0.00") -> BalanceClosing:
    return BalanceClosing(type="balance.closing", close_id="close-2026-02", month=month,
                          balance=Account(partner_id="acmePA"), partner_id="acmePA", billing_model="partner_paid",
                          currency="EUR", starting_balance=D(starting), added_funds=D(added), usage=D(used),
                          refunds=D(refunds), ending_balance=D(ending), usage_lines=list(usage_lines),
                          payments=list(payments))


def line(code: str, amount: str, **extra: Any) -> InvoiceLine:
    return InvoiceLine(code=code, description=code, quantity="1", unit_price=D(amount), amount=D(amount), **extra)


def as_json(lines: list[InvoiceLine]) -> list[dict[str, Any]]:
    return [json.loads(x.model_dump_json()) for x in lines]


def invoice(lines: list[InvoiceLine], recipient: Recipient = ACME, **extra: Any):
    return compose(invoice_id=invoice_id("test", "x"), number="INV-2026-000001", kind="subscription",
                   billing_model="partner_paid", recipient=recipient, partner_id="acmePA", period="2026-03",
                   issued_at=ISSUED, currency="EUR", lines=lines, **extra)


# --- ids -----------------------------------------------------------------------------------------


def test_an_invoice_id_is_a_uuid5_derived_from_what_it_bills_and_the_same_every_time():
    """Same kind, subject and period: same id; any of the three different: another id."""
    one = invoice_id("subscription", "acmePA", "2026-03")
    assert one == invoice_id("subscription", "acmePA", "2026-03")
    assert uuid.UUID(one).version == 5 and str(uuid.UUID(one)) == one
    others = {invoice_id("month_closing", "acmePA", "2026-03"), invoice_id("subscription", "globexPA", "2026-03"),
              invoice_id("subscription", "acmePA", "2026-04"), invoice_id("prepayment", "pay_1")}
    assert len(others) == 4 and one not in others


# --- compose: subtotal, tax, total ---------------------------------------------------------------


def test_the_worked_example_subscription_totals_607_25_plus_115_38_is_722_63():
    """§5: 500.00 + 25.00 + 49.00 + 33.25 = 607.25; 0.19 × 607.25 = 115.3775 → 115.38; total 722.63."""
    inv = invoice([line("partner_plan", "500.00"), line("license", "25.00"), line("license_prorated", "33.25"),
                   line("license", "49.00")])
    assert (inv.subtotal, inv.tax, inv.total) == (
        D("607.25"), Tax(treatment="standard", rate=D("0.19"), amount=D("115.38")), D("722.63"))
    assert json.loads(inv.model_dump_json())["total"] == "722.63"


def test_tax_applies_to_every_line_but_usage_late_usage_and_settlement():
    """Usage 0.34, late usage 0.05, settled −0.39 and a 4.00 fee: subtotal 4.00, tax 0.19 × 4.00 = 0.76."""
    inv = invoice([line("usage", "0.34", category="marketing"),
                   line("late_usage", "0.05", category="utility", usage_month="2026-01"),
                   line("settled_with_credit_balance", "-0.39"), line("transaction_fee", "4.00")])
    assert (str(inv.subtotal), str(inv.tax.amount), str(inv.total)) == ("4.00", "0.76", "4.76")


def test_tax_is_rounded_once_per_invoice_not_per_line():
    """Two 0.50 fees: 0.19 × 1.00 = 0.19, not 2 × 0.095 → 2 × 0.10 = 0.20."""
    inv = invoice([line("transaction_fee", "0.50"), line("transaction_fee", "0.50")])
    assert (str(inv.subtotal), str(inv.tax.amount), str(inv.total)) == ("1.00", "0.19", "1.19")


def test_a_tax_ending_in_5_at_the_third_decimal_is_rounded_up():
    """A 1.50 line: 0.19 × 1.50 = 0.285 → 0.29; total 1.79."""
    inv = invoice([line("transaction_fee", "1.50")])
    assert (str(inv.tax.amount), str(inv.total)) == ("0.29", "1.79")


def test_a_reverse_charge_recipient_pays_no_tax_and_the_total_is_the_subtotal():
    """An AT client with a VAT id: reverse_charge, rate 0, tax 0.00."""
    client = Recipient(type="client", id="bobCL", name="Bob's Bikes", country="AT", vat_id="ATU12345678")
    inv = invoice([line("license", "25.00")], client)
    assert (inv.tax, inv.total) == (Tax(treatment="reverse_charge", rate=D("0"), amount=D("0.00")), D("25.00"))


def test_an_invoice_without_lines_totals_zero():
    """A month closing of a quiet month: subtotal, tax and total 0.00."""
    inv = invoice([])
    assert (str(inv.subtotal), str(inv.tax.amount), str(inv.total)) == ("0.00", "0.00", "0.00")


def test_compose_copies_the_top_level_fields_it_is_given():
    """Recipient, ids, period, issue time, currency, summary: as passed."""
    summary = InvoiceSummary(starting_balance=D("0.00"), added_funds=D("0.00"), usage=D("0.00"),
                             refunds=D("0.00"), ending_balance=D("0.00"))
    inv = invoice([], client_id="bobCL", channel_id="acmeCH0001", summary=summary)
    assert (inv.invoice_id, inv.number, inv.kind, inv.billing_model, inv.recipient, inv.partner_id, inv.client_id,
            inv.channel_id, inv.period, inv.issued_at, inv.currency, inv.summary) == (
        invoice_id("test", "x"), "INV-2026-000001", "subscription", "partner_paid", ACME, "acmePA", "bobCL",
        "acmeCH0001", "2026-03", ISSUED, "EUR", summary)


# --- prepayment ----------------------------------------------------------------------------------


def test_a_prepayment_line_is_the_payment_rounded_to_the_cent_in_its_booked_month():
    """50.00 by card to globexCH0007: one line with the channel and client, service month the booked month."""
    entry = LedgerEntry(entry_id="pay_9", kind="payment", balance=Account(channel_id="globexCH0007"),
                        partner_id="globexPA", client_id="initechCL", channel_id="globexCH0007",
                        billing_model="direct_paid", currency="USD", amount=D("50.00"), method="card",
                        occurred_at=datetime(2026, 10, 18, 8, tzinfo=UTC), booked_month="2026-10",
                        balance_after=D("50.00"))
    assert as_json([prepayment_line(entry)]) == [{
        "code": "prepayment", "description": "Prepayment of the credit balance (card, pay_9)", "quantity": "1",
        "unit_price": "50.00", "amount": "50.00", "service_month": "2026-10", "client_id": "initechCL",
        "channel_id": "globexCH0007"}]


# --- month-closing lines -------------------------------------------------------------------------


def test_month_closing_lines_are_usage_per_channel_and_category_then_late_usage_then_settlement_and_card_fees():
    """Usage of the month first (by channel, then category), then late usage (by channel, month,
    category), the settlement of their rounded total, one 4 % fee per card payment and none for a transfer."""
    c = closing(
        [usage("acmeCH0002", "utility", "2026-02", 1, "0.0456", "aliceCL"),
         usage("acmeCH0001", "utility", "2026-02", 2, "0.0912"),
         usage("acmeCH0001", "marketing", "2026-02", 3, "0.3393"),
         usage("acmeCH0001", "marketing", "2026-01", 1, "0.1131"),
         usage("acmeCH0001", "authentication", "2025-12", 1, "0.0636")],
        [pay("pay_1", "100.00"), pay("pay_2", "20.00", "bank_transfer"), pay("pay_3", "12.34")])
    assert as_json(closing_lines(c, "2026-02")) == [
        {"code": "usage", "description": "Usage marketing, acmeCH0001, 2026-02: 3 messages", "quantity": "3",
         "unit_price": "0.1131", "amount": "0.34", "service_month": "2026-02", "client_id": "bobCL",
         "channel_id": "acmeCH0001", "category": "marketing"},
        {"code": "usage", "description": "Usage utility, acmeCH0001, 2026-02: 2 messages", "quantity": "2",
         "unit_price": "0.0456", "amount": "0.09", "service_month": "2026-02", "client_id": "bobCL",
         "channel_id": "acmeCH0001", "category": "utility"},
        {"code": "usage", "description": "Usage utility, acmeCH0002, 2026-02: 1 message", "quantity": "1",
         "unit_price": "0.0456", "amount": "0.05", "service_month": "2026-02", "client_id": "aliceCL",
         "channel_id": "acmeCH0002", "category": "utility"},
        {"code": "late_usage", "description": "Late usage authentication, acmeCH0001, 2025-12: 1 message",
         "quantity": "1", "unit_price": "0.0636", "amount": "0.06", "service_month": "2025-12",
         "client_id": "bobCL", "channel_id": "acmeCH0001", "category": "authentication",
         "usage_month": "2025-12"},
        {"code": "late_usage", "description": "Late usage marketing, acmeCH0001, 2026-01: 1 message",
         "quantity": "1", "unit_price": "0.1131", "amount": "0.11", "service_month": "2026-01",
         "client_id": "bobCL", "channel_id": "acmeCH0001", "category": "marketing", "usage_month": "2026-01"},
        {"code": "settled_with_credit_balance", "description": "Settled with the credit balance, 2026-02",
         "quantity": "1", "unit_price": "-0.65", "amount": "-0.65", "service_month": "2026-02",
         "client_id": None, "channel_id": None},
        {"code": "transaction_fee", "description": "Card transaction fee, 4 % of pay_1 (100.00)", "quantity": "1",
         "unit_price": "4.00", "amount": "4.00", "service_month": "2026-02", "client_id": None,
         "channel_id": None},
        {"code": "transaction_fee", "description": "Card transaction fee, 4 % of pay_3 (12.34)", "quantity": "1",
         "unit_price": "0.49", "amount": "0.49", "service_month": "2026-02", "client_id": None,
         "channel_id": None},
    ]


def test_each_usage_line_is_rounded_half_up_once_and_the_settlement_is_minus_their_sum():
    """0.125 → 0.13 (half even would give 0.12), 0.1131 → 0.11: settled −0.24; the invoice totals 0.00."""
    lines = closing_lines(closing([usage("acmeCH0001", "marketing", "2026-02", 1, "0.125"),
                                   usage("acmeCH0001", "utility", "2026-02", 1, "0.1131")]), "2026-02")
    assert [(x.code, str(x.amount)) for x in lines] == [
        ("usage", "0.13"), ("usage", "0.11"), ("settled_with_credit_balance", "-0.24")]
    assert str(lines[0].unit_price) == "0.125"
    inv = invoice(lines)
    assert (str(inv.subtotal), str(inv.tax.amount), str(inv.total)) == ("0.00", "0.00", "0.00")


def test_a_month_with_only_payments_has_no_settlement_line():
    """A 50.00 card payment and no usage: one 2.00 fee, nothing to settle."""
    lines = closing_lines(closing(payments=[pay("pay_1", "50.00")]), "2026-02")
    assert [(x.code, str(x.amount)) for x in lines] == [("transaction_fee", "2.00")]


def test_no_closing_means_no_lines_and_a_zero_summary():
    """A partner whose balance never moved: no lines, every summary field 0.00."""
    assert closing_lines(None, "2026-02") == []
    zero = summary_of(None)
    assert [str(v) for v in (zero.starting_balance, zero.added_funds, zero.usage, zero.refunds,
                             zero.ending_balance)] == ["0.00"] * 5


def test_the_summary_is_the_ledgers_closing_unrounded():
    """Starting 10.00 + added 100.00 − usage 0.3849 − refunds 30.00 = 79.6151."""
    c = closing(starting="10.00", added="100.00", used="0.3849", refunds="30.00", ending="79.6151")
    assert summary_of(c) == InvoiceSummary(starting_balance=D("10.00"), added_funds=D("100.00"),
                                           usage=D("0.3849"), refunds=D("30.00"), ending_balance=D("79.6151"))


def test_activity_is_charged_usage_or_a_card_payment():
    """No closing, or only a bank transfer: no activity; usage (late too) or a card payment: activity."""
    assert has_activity(None) is False
    assert has_activity(closing()) is False
    assert has_activity(closing(payments=[pay("pay_1", "50.00", "bank_transfer")])) is False
    assert has_activity(closing(payments=[pay("pay_1", "50.00", "pix")])) is False
    assert has_activity(closing(payments=[pay("pay_1", "50.00")])) is True
    assert has_activity(closing([usage("acmeCH0001", "marketing", "2026-02", 1, "0.1131")])) is True
    assert has_activity(closing([usage("acmeCH0001", "marketing", "2026-01", 1, "0.1131")])) is True
