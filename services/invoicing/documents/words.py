"""What a document says, in German for recipients in DE, AT and CH and in English for everyone else."""

from datetime import date
from decimal import Decimal

GERMAN_SPEAKING = frozenset({"DE", "AT", "CH"})

_WORDS = {
    "invoice": ("Rechnung", "Invoice"),
    "credit_note": ("Rechnungskorrektur", "Credit note"),
    "kind.prepayment": ("Vorauszahlung", "Prepayment"),
    "kind.subscription": ("Abonnement", "Subscription"),
    "kind.partner_plan": ("Partnerplan", "Partner plan"),
    "kind.license": ("Lizenz", "License"),
    "kind.license_prorated": ("Lizenz (anteilig)", "License (prorated)"),
    "kind.month_closing": ("Monatsabrechnung", "Month closing"),
    "kind.credit_note": ("Rechnungskorrektur", "Credit note"),
    "number": ("Rechnungsnummer", "Invoice number"),
    "credit_number": ("Nummer der Korrektur", "Credit note number"),
    "date": ("Rechnungsdatum", "Invoice date"),
    "credit_date": ("Datum", "Date"),
    "period": ("Leistungszeitraum", "Service period"),
    "due": ("Fällig am", "Due date"),
    "customer_id": ("Kundennummer", "Customer id"),
    "your_vat_id": ("Ihre USt-IdNr.", "Your VAT id"),
    "corrects": ("Korrigiert die Rechnung", "Corrects invoice"),
    "of": ("vom", "of"),
    "reason": ("Grund", "Reason"),
    "pos": ("Pos.", "No."),
    "description": ("Beschreibung", "Description"),
    "quantity": ("Menge", "Qty"),
    "unit_price": ("Einzelpreis", "Unit price"),
    "vat": ("USt.", "VAT"),
    "amount": ("Betrag", "Amount"),
    "subtotal": ("Zwischensumme (netto)", "Subtotal (net)"),
    "vat_on": ("Umsatzsteuer {rate} % auf {basis}", "VAT {rate} % on {basis}"),
    "vat_zero": ("Umsatzsteuer 0 % ({code}) auf {basis}", "VAT 0 % ({code}) on {basis}"),
    "total": ("Gesamtbetrag", "Total"),
    "total_credit": ("Korrekturbetrag", "Total credited"),
    "balance": ("Guthabenkonto", "Credit balance"),
    "starting_balance": ("Anfangssaldo", "Starting balance"),
    "added_funds": ("Einzahlungen", "Funds added"),
    "credits": ("Rechnungskorrekturen", "Credits"),
    "usage": ("Nutzung", "Usage"),
    "refunds": ("Erstattungen", "Refunds"),
    "ending_balance": ("Endsaldo", "Ending balance"),
    "no_lines": ("Keine Nutzung und keine Gebühren in diesem Monat.", "No usage and no fees this month."),
    "pay": ("Bitte überweisen Sie {total} bis zum {due} unter Angabe der Rechnungsnummer {number}.",
            "Please transfer {total} by {due}, quoting invoice number {number}."),
    "nothing_due": ("Es ist kein Betrag zu zahlen.", "Nothing is due."),
    "settle.credit_balance": ("Der Betrag wird Ihrem Guthabenkonto gutgeschrieben.",
                              "The amount is credited to your prepaid balance."),
    "settle.payable": ("Der Betrag wird Ihnen erstattet oder mit offenen Rechnungen verrechnet.",
                       "The amount is paid out to you or offset against open invoices."),
    "terms": ("Zahlbar innerhalb von {days} Tagen ohne Abzug.", "Payable within {days} days without deduction."),
    "bank": ("Bankverbindung", "Bank details"),
    "contact": ("Kontakt", "Contact"),
    "vat_id": ("USt-IdNr.", "VAT id"),
    "tax_number": ("Steuernummer", "Tax number"),
    "register": ("Handelsregister", "Commercial register"),
    "directors": ("Geschäftsführung", "Managing directors"),
    "page": ("Seite", "Page"),
    "embedded": ("Diese PDF-Datei enthält die Rechnungsdaten nach EN 16931 (ZUGFeRD / Factur-X).",
                 "This PDF carries the invoice data according to EN 16931 (ZUGFeRD / Factur-X)."),
}


def language(country: str) -> str:
    return "de" if country in GERMAN_SPEAKING else "en"


def word(lang: str, key: str, **values: object) -> str:
    text = _WORDS[key][0 if lang == "de" else 1]
    return text.format(**values) if values else text


def money(value: Decimal, currency: str, lang: str) -> str:
    """1.234,56 EUR in German, 1,234.56 EUR in English; more decimals only where a unit price has them."""
    places = max(2, -value.as_tuple().exponent) if isinstance(value.as_tuple().exponent, int) else 2
    text = f"{value:,.{places}f}"
    if lang == "de":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"{text} {currency}"


def number(value: Decimal, lang: str) -> str:
    text = f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    return text.replace(".", ",") if lang == "de" else text


_MONTHS = "January February March April May June July August September October November December".split()


def day(value: date, lang: str) -> str:
    # Not strftime's %B: its month names follow the process locale, and the bytes must not.
    return f"{value:%d.%m.%Y}" if lang == "de" else f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
