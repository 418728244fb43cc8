"""What every document of an invoice says beyond its message: each line with its VAT category, the VAT
breakdown, the service periods and the due date (shared by the CII and the printed page)."""

from datetime import date, timedelta
from decimal import Decimal

from shared.months import days_in

from . import words
from .model import InvoiceData, Line
from .seller import Seller
from .taxes import Breakdown, Category, breakdown, category_of, placeholder_category


def due_date(data: InvoiceData, seller: Seller) -> date:
    return data.issued_at.date() + timedelta(days=seller.payment_terms_days)


def month_span(month: str) -> tuple[date, date]:
    year, m = int(month[:4]), int(month[5:])
    return date(year, m, 1), date(year, m, days_in(month))


def invoice_period(data: InvoiceData) -> tuple[date, date]:
    """BG-14: the invoice's month, widened to every line's service month (a prorated month before it,
    late usage of an earlier month), so each line's period lies within it (PEPPOL-EN16931-R110)."""
    months = [data.period, *(line.service_month for line in data.lines if line.service_month)]
    return month_span(min(months))[0], month_span(max(months))[1]


def document_lines(data: InvoiceData) -> list[tuple[Line, Category]]:
    """Every line with its VAT category; a document without lines gets one zero line (EN 16931 needs one)."""
    if data.lines:
        return [(line, category_of(data, line)) for line in data.lines]
    lang = words.language(data.recipient.country)
    empty = Line("statement", words.word(lang, "no_lines"), Decimal("1"), Decimal("0.00"), Decimal("0.00"),
                 data.period, None)
    return [(empty, placeholder_category(data))]


def taxes(data: InvoiceData) -> list[Breakdown]:
    lines = document_lines(data)
    return breakdown(data, [c for _, c in lines], [line.amount for line, _ in lines])
