"""One invoice of every kind and tax treatment, and credit notes of both `settle`s, as §3.7 messages.

Made with the invoicing service's own `compose` (totals and tax as issued); the credit notes are
shaped as CONTRACT.md §3.7 describes them (kind `credit_note`, `corrects`, `reason`, `settle`).
The document tests, the validator's test and `docs/samples/` use them.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.invoicing.documents.model import Address, InvoiceData, from_message
from services.invoicing.domain.credit_notes import compose_credit_note
from services.invoicing.domain.documents import compose
from shared.contracts import Invoice, InvoiceCredit, InvoiceLine, InvoiceSummary, Recipient, encode

ISSUED = datetime(2026, 11, 1, 0, 5, 7, tzinfo=UTC)
ACME = Recipient(type="partner", id="acmePA", name="Acme Messaging GmbH", country="DE", vat_id="DE123456789")
ACME_ADDRESS = Address("Hauptstraße 1", "80331", "München", "rechnungen@acme.example")
CARLA = Recipient(type="client", id="carlaCL", name="Carla Cafés", country="AT", vat_id=None)
INITECH = Recipient(type="client", id="initechCL", name="Initech SARL", country="FR", vat_id=None)
UMBRELLA = Recipient(type="client", id="umbrellaCL", name="Umbrella S.L.", country="ES", vat_id="ESX1234567X")
UMBRELLA_ADDRESS = Address("Calle Mayor 5", "28013", "Madrid", None)
GLOBEX = Recipient(type="partner", id="globexPA", name="Globex Corporation", country="US", vat_id=None)
GLOBEX_ADDRESS = Address("1 Globex Plaza", "10001", "New York", "ap@globex.example")


def line(code: str, description: str, amount: str, month: str = "2026-11", quantity: str = "1",
         unit_price: str | None = None, **extra: Any) -> InvoiceLine:
    return InvoiceLine(code=code, description=description, quantity=quantity,
                       unit_price=unit_price or amount, amount=amount, service_month=month, **extra)


def invoice(number: int, kind: str, recipient: Recipient, period: str, lines: list[InvoiceLine],
            model: str = "partner_paid", currency: str = "EUR", summary: InvoiceSummary | None = None,
            channel_id: str | None = None) -> dict[str, Any]:
    client_id = recipient.id if recipient.type == "client" else None
    partner_id = recipient.id if recipient.type == "partner" else ("globexPA" if currency == "USD" else "acmePA")
    made = compose(invoice_id=f"00000000-0000-4000-8000-{number:012d}", number=f"INV-2026-{number:06d}",
                   kind=kind, billing_model=model, recipient=recipient, partner_id=partner_id, period=period,
                   issued_at=ISSUED, currency=currency, lines=lines, client_id=client_id, channel_id=channel_id,
                   summary=summary)
    return json.loads(encode(made))


def _usage(channel: str, category: str, quantity: int, unit: str, amount: str, month: str = "2026-10",
           late: bool = False) -> InvoiceLine:
    return InvoiceLine(code="late_usage" if late else "usage", category=category, quantity=str(quantity),
                       unit_price=unit, amount=amount, service_month=month, channel_id=channel,
                       usage_month=month if late else None,
                       description=f"{'Late usage' if late else 'Usage'} {category}, {channel}, {month}: "
                                   f"{quantity} messages")


def _settled(amount: str) -> InvoiceLine:
    return InvoiceLine(code="settled_with_credit_balance", quantity="1", unit_price=f"-{amount}",
                       amount=f"-{amount}", service_month="2026-10", description="Settled with the credit balance, 2026-10")


def _summary(starting: str, added: str, usage: str, refunds: str, ending: str) -> InvoiceSummary:
    return InvoiceSummary(starting_balance=starting, added_funds=added, usage=usage, refunds=refunds,
                          ending_balance=ending)


def credit_note(number: int, corrected: dict[str, Any], credits: list[tuple[int, str]], settle: str,
                reason: str) -> dict[str, Any]:
    """A credit note made by invoicing's own rules from the corrected invoice and a command."""
    command = InvoiceCredit(type="invoice.credit", command_id=f"cred-{number}", invoice_id=corrected["invoice_id"],
                            lines=[{"line": n, "amount": a} for n, a in credits], reason=reason, settle=settle)
    note = compose_credit_note(Invoice.model_validate(corrected), command, [(n, Decimal(a)) for n, a in credits],
                               f"CN-2026-{number:06d}", datetime(2026, 11, 20, 10, tzinfo=UTC))
    return json.loads(encode(note))


def examples() -> dict[str, tuple[dict[str, Any], Address | None, datetime | None]]:
    """name → (message, the recipient's address, when a credited invoice was issued)."""
    subscription = invoice(2, "subscription", ACME, "2026-11", [
        line("partner_plan", "Partner plan Growth, 2026-11", "500.00"),
        line("license", "License regular, acmeCH0001, 2026-11", "25.00", channel_id="acmeCH0001", client_id="bobCL"),
        line("license", "License premium, acmeCH0002, 2026-11", "49.00", channel_id="acmeCH0002", client_id="bobCL"),
        line("license_prorated", "License regular, acmeCH0003, 2026-10 (17 of 31 days)", "13.71", "2026-10",
             channel_id="acmeCH0003", client_id="carlaCL")])
    closing = invoice(3, "month_closing", ACME, "2026-10", [
        _usage("acmeCH0001", "marketing", 412, "0.1131", "46.60"),
        _usage("acmeCH0001", "utility", 1250, "0.0456", "57.00"),
        _usage("acmeCH0002", "authentication", 97, "0.0636", "6.17"),
        _usage("acmeCH0001", "marketing", 3, "0.1131", "0.34", month="2026-09", late=True),
        _settled("110.11"),
        line("transaction_fee", "Card transaction fee, 4 % of pay_7Hq2 (100.00)", "4.00", "2026-10")],
        summary=_summary("12.40", "150.00", "110.1083", "0.00", "52.2917"))
    license_ = invoice(5, "license", UMBRELLA, "2026-11", [
        line("license", "License regular, globexCH0009, 2026-11", "25.00", channel_id="globexCH0009",
             client_id="umbrellaCL")], model="direct_paid", currency="USD", channel_id="globexCH0009")
    return {
        "prepayment": (invoice(1, "prepayment", ACME, "2026-10", [
            line("prepayment", "Prepayment of the credit balance (card, pay_7Hq2)", "100.00", "2026-10")]),
            ACME_ADDRESS, None),
        "subscription": (subscription, ACME_ADDRESS, None),
        "month_closing": (closing, ACME_ADDRESS, None),
        "partner_plan": (invoice(4, "partner_plan", GLOBEX, "2026-11", [
            line("partner_plan", "Partner plan Premium, 2026-11", "1000.00")], model="direct_paid", currency="USD"),
            GLOBEX_ADDRESS, None),
        "license": (license_, UMBRELLA_ADDRESS, None),
        "license_prorated": (invoice(6, "license_prorated", INITECH, "2026-10", [
            line("license_prorated", "License premium, globexCH0008, 2026-10 (22 of 31 days)", "34.77", "2026-10",
                 channel_id="globexCH0008", client_id="initechCL")], model="direct_paid", currency="USD",
            channel_id="globexCH0008"), None, None),
        "month_closing_outside_scope": (invoice(7, "month_closing", GLOBEX, "2026-10", [], model="direct_paid",
                                                currency="USD", summary=_summary("0.00", "0.00", "0.00", "0.00",
                                                                                 "0.00")), GLOBEX_ADDRESS, None),
        "month_closing_reverse_charge": (invoice(8, "month_closing", UMBRELLA, "2026-10", [
            _usage("globexCH0009", "marketing", 40, "0.0742", "2.97"), _settled("2.97"),
            line("transaction_fee", "Card transaction fee, 4 % of pay_9Zk1 (50.00)", "2.00", "2026-10")],
            model="direct_paid", currency="USD", channel_id="globexCH0009",
            summary=_summary("0.00", "50.00", "2.9680", "0.00", "47.0320")), UMBRELLA_ADDRESS, None),
        "month_closing_austria": (invoice(9, "month_closing", CARLA, "2026-10", [
            _usage("acmeCH0003", "marketing", 10, "0.0592", "0.59"), _settled("0.59")],
            summary=_summary("5.00", "0.00", "0.5920", "0.00", "4.4080")), None, None),
        "credit_note": (credit_note(1, subscription, [(1, "25.00")], "credit_balance",
                                    "License acmeCH0001 billed twice"), ACME_ADDRESS, ISSUED),
        "credit_note_payable": (credit_note(2, license_, [(0, "10.00")], "payable",
                                            "Goodwill for an outage on 2026-11-12"), UMBRELLA_ADDRESS, ISSUED),
    }


def example_data() -> dict[str, InvoiceData]:
    return {name: from_message(*spec) for name, spec in examples().items()}
