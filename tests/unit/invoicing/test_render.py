"""Invoices for people (services/invoicing/render.py): plain text and HTML from the contract message."""

from datetime import UTC, datetime
from decimal import Decimal

from services.invoicing.domain.documents import closing_lines, compose, summary_of
from services.invoicing.render import text, to_html
from shared.contracts import Account, BalanceClosing, Invoice, InvoiceLine, Recipient, UsageLine

D = Decimal
ISSUED = datetime(2026, 3, 1, 0, 0, 7, tzinfo=UTC)
ACME = Recipient(type="partner", id="acmePA", name="Acme Messaging GmbH", country="DE", vat_id="DE123456789")


def line(code: str, description: str, amount: str, month: str, **extra) -> InvoiceLine:
    return InvoiceLine(code=code, description=description, quantity="1", unit_price=D(amount), amount=D(amount),
                       service_month=month, **extra)


def invoice(kind: str, recipient: Recipient, lines: list[InvoiceLine], period: str = "2026-03",
            currency: str = "EUR", **extra) -> Invoice:
    return compose(invoice_id="5b0c2f0e-0000-5000-8000-000000000000", number="INV-2026-000003", kind=kind,
                   billing_model="partner_paid", recipient=recipient, partner_id="acmePA", period=period,
                   issued_at=ISSUED, currency=currency, lines=lines, **extra)


# The §5 subscription.
SUBSCRIPTION = invoice("subscription", ACME, [
    line("partner_plan", "Partner plan Growth, 2026-03", "500.00", "2026-03"),
    line("license", "License regular, acmeCH000A, 2026-03", "25.00", "2026-03", client_id="bobCL",
         channel_id="acmeCH000A"),
    line("license_prorated", "License premium, acmeCH000B, 2026-02 (19 of 28 days)", "33.25", "2026-02",
         client_id="bobCL", channel_id="acmeCH000B"),
    line("license", "License premium, acmeCH000B, 2026-03", "49.00", "2026-03", client_id="bobCL",
         channel_id="acmeCH000B"),
])


def test_the_text_of_a_subscription_invoice_shows_the_recipient_each_line_subtotal_tax_and_total():
    """The §5 subscription: heading, issue time and period, recipient with VAT id, four lines, then
    607.25, VAT 19 % 115.38 and 722.63, amounts right-aligned in one column."""
    assert text(SUBSCRIPTION) == (
        "Subscription invoice INV-2026-000003\n"
        "Issued 2026-03-01 00:00 UTC · period 2026-03\n"
        "To: Acme Messaging GmbH (partner acmePA), DE, VAT id DE123456789\n"
        "\n"
        "  Partner plan Growth, 2026-03                               1 ×     500.00        500.00 EUR\n"
        "  License regular, acmeCH000A, 2026-03                       1 ×      25.00         25.00 EUR\n"
        "  License premium, acmeCH000B, 2026-02 (19 of 28 days)       1 ×      33.25         33.25 EUR\n"
        "  License premium, acmeCH000B, 2026-03                       1 ×      49.00         49.00 EUR\n"
        "\n"
        "  Subtotal                                                                         607.25 EUR\n"
        "  VAT 19 %                                                                         115.38 EUR\n"
        "  Total                                                                            722.63 EUR\n")


def test_the_text_of_a_month_closing_shows_unrounded_unit_prices_the_settlement_and_the_credit_balance():
    """The §5 month closing: 1 × 0.1131 = 0.11, settled −0.11, totals 0.00, and the summary
    0.00 + 0.00 − 0.1131 − 0.00 = −0.1131."""
    closing = BalanceClosing(
        type="balance.closing", close_id="close-2026-02", month="2026-02", balance=Account(partner_id="acmePA"),
        partner_id="acmePA", billing_model="partner_paid", currency="EUR", starting_balance=D("0.00"),
        added_funds=D("0.00"), usage=D("0.1131"), refunds=D("0.00"), ending_balance=D("-0.1131"),
        usage_lines=[UsageLine(channel_id="acmeCH000A", client_id="bobCL", category="marketing",
                               usage_month="2026-02", quantity=1, amount=D("0.1131"))], payments=[])
    inv = invoice("month_closing", ACME, closing_lines(closing, "2026-02"), "2026-02", summary=summary_of(closing))
    assert text(inv) == (
        "Month closing invoice INV-2026-000003\n"
        "Issued 2026-03-01 00:00 UTC · period 2026-02\n"
        "To: Acme Messaging GmbH (partner acmePA), DE, VAT id DE123456789\n"
        "\n"
        "  Usage marketing, acmeCH000A, 2026-02: 1 message       1 ×     0.1131          0.11 EUR\n"
        "  Settled with the credit balance, 2026-02              1 ×      -0.11         -0.11 EUR\n"
        "\n"
        "  Subtotal                                                                      0.00 EUR\n"
        "  VAT 19 %                                                                      0.00 EUR\n"
        "  Total                                                                         0.00 EUR\n"
        "\n"
        "  Credit balance\n"
        "    starting 0.00  + added 0.00  + credits 0.00  - usage 0.1131  - refunds 0.00  = ending -0.1131 EUR\n")


def test_the_text_of_a_zero_rated_invoice_shows_its_treatment_at_0_percent():
    """Outside the scope (US) and reverse charge (AT with a VAT id) read "0 %", not a bare "%"."""
    us = Recipient(type="partner", id="globexPA", name="Globex Corporation", country="US")
    at = Recipient(type="client", id="hooliCL", name="Hooli GmbH", country="AT", vat_id="ATU12345678")
    lines = [line("partner_plan", "Partner plan Premium, 2026-04", "1000.00", "2026-04")]
    assert "  VAT, outside the scope 0 %   " in text(invoice("partner_plan", us, lines, currency="USD"))
    assert "  VAT, reverse charge 0 %   " in text(invoice("partner_plan", at, lines, currency="USD"))


def test_amounts_of_a_thousand_or_more_are_grouped_with_commas_and_a_recipient_without_vat_id_shows_none():
    """1548.39 USD reads 1,548.39 USD; the address line ends with the country."""
    us = Recipient(type="partner", id="globexPA", name="Globex Corporation", country="US")
    out = text(invoice("partner_plan", us, [
        line("partner_plan_prorated", "Partner plan Premium, 2026-03 (17 of 31 days)", "548.39", "2026-03"),
        line("partner_plan", "Partner plan Premium, 2026-04", "1000.00", "2026-04")], "2026-04", "USD"))
    assert "To: Globex Corporation (partner globexPA), US\n" in out
    assert out.endswith("  Total                                                                   1,548.39 USD\n")
    assert "  Partner plan Premium, 2026-04                       1 ×    1000.00      1,000.00 USD\n" in out


def test_the_html_escapes_a_recipient_name_with_lt_and_amp():
    """Bob's <Bikes> & Co is written as text, never as markup."""
    bob = Recipient(type="client", id="bobCL", name="Bob's <Bikes> & Co", country="AT", vat_id="ATU1<2>")
    out = to_html(invoice("license", bob, [line("license", "License regular, acmeCH0001, 2026-04", "25.00",
                                                "2026-04")]))
    assert ("<p><strong>Bob&#x27;s &lt;Bikes&gt; &amp; Co</strong> (client bobCL), AT, VAT id ATU1&lt;2&gt;</p>"
            in out)
    assert "<Bikes>" not in out and "& Co" not in out and "ATU1<2>" not in out


def test_the_html_has_a_row_per_line_and_the_subtotal_tax_and_total():
    """The §5 subscription as an HTML table: four line rows, then 607.25, 115.38 and 722.63."""
    out = to_html(SUBSCRIPTION)
    assert "<title>INV-2026-000003</title>" in out
    assert "<h1>Subscription invoice INV-2026-000003</h1>" in out
    assert out.count("<tr><td>") == 4
    assert ("<tr><td>License premium, acmeCH000B, 2026-02 (19 of 28 days)</td><td class=n>1</td>"
            "<td class=n>33.25</td><td class=n>33.25 EUR</td></tr>") in out
    assert "<tr><td colspan=3>Subtotal</td><td class=n>607.25 EUR</td></tr>" in out
    assert "<tr><td colspan=3>VAT 0.19</td><td class=n>115.38 EUR</td></tr>" in out
    assert "<tr><th colspan=3>Total</th><th class=n>722.63 EUR</th></tr>" in out
    assert "Credit balance" not in out


def test_a_credit_note_says_what_it_corrects_why_and_how_it_is_settled():
    """A credit note of the §5 subscription's license: its own heading, the corrected number and reason,
    and where the money goes, in text and HTML."""
    from services.invoicing.domain.credit_notes import compose_credit_note
    from shared.contracts import InvoiceCredit

    command = InvoiceCredit(type="invoice.credit", command_id="cred-1", invoice_id=SUBSCRIPTION.invoice_id,
                            reason="licence billed twice", settle="credit_balance")
    note = compose_credit_note(SUBSCRIPTION, command, [(1, D("25.00"))], "CN-2026-000001", ISSUED)
    out = text(note)
    assert out.startswith("Credit note CN-2026-000001\nIssued 2026-03-01 00:00 UTC · period 2026-03\n"
                          "To: Acme Messaging GmbH (partner acmePA), DE, VAT id DE123456789\n"
                          "Corrects INV-2026-000003: licence billed twice\n"
                          "Settled: credited to the prepaid balance\n\n")
    assert [row.split() for row in out.splitlines()[-3:]] == [
        ["Subtotal", "25.00", "EUR"], ["VAT", "19", "%", "4.75", "EUR"], ["Total", "29.75", "EUR"]]
    page = to_html(note)
    assert "<h1>Credit note CN-2026-000001</h1>" in page
    assert "<p>Corrects INV-2026-000003: licence billed twice</p>" in page
