"""The invoice as a person reads it: an HTML page (Jinja2, templates/) that WeasyPrint prints."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import words
from .content import document_lines, due_date, invoice_period, month_span, taxes
from .model import InvoiceData
from .seller import Seller
from .taxes import UNTAXED_CODES

TEMPLATES = Path(__file__).parent / "templates"
COUNTRIES = {
    "DE": ("Deutschland", "Germany"), "AT": ("Österreich", "Austria"), "CH": ("Schweiz", "Switzerland"),
    "FR": ("Frankreich", "France"), "ES": ("Spanien", "Spain"), "IT": ("Italien", "Italy"),
    "NL": ("Niederlande", "Netherlands"), "BE": ("Belgien", "Belgium"), "PL": ("Polen", "Poland"),
    "US": ("Vereinigte Staaten", "United States"), "GB": ("Vereinigtes Königreich", "United Kingdom"),
    "BR": ("Brasilien", "Brazil"), "IN": ("Indien", "India"), "MX": ("Mexiko", "Mexico"),
}


@dataclass(frozen=True, slots=True)
class Row:
    position: int
    description: str
    period: str | None
    quantity: str
    unit_price: str
    vat: str
    amount: str


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env


def country(code: str, lang: str) -> str:
    names = COUNTRIES.get(code)
    return names[0 if lang == "de" else 1] if names else code


def to_html(data: InvoiceData, seller: Seller) -> str:
    """The whole page, its stylesheet inline (to look at in a browser)."""
    page, css = to_page(data, seller)
    return page.replace("<head>", f"<head><style>{css}</style>", 1)


def stylesheet(lang: str) -> str:
    return _environment().get_template("invoice.css").render(w=lambda key: words.word(lang, key))


def to_page(data: InvoiceData, seller: Seller) -> tuple[str, str]:
    """The page without its stylesheet, and the stylesheet (the same for every page of a language, so a
    renderer parses it once)."""
    lang = words.language(data.recipient.country)
    w = lambda key, **v: words.word(lang, key, **v)  # noqa: E731
    m = lambda value: words.money(value, data.currency, lang)  # noqa: E731
    rows = []
    for n, (line, category) in enumerate(document_lines(data), start=1):
        span = month_span(line.service_month) if line.service_month else None
        rows.append(Row(n, line.description,
                        f"{words.day(span[0], lang)} – {words.day(span[1], lang)}" if span else None,
                        words.number(line.quantity, lang), m(line.unit_price),
                        f"{category.percent.normalize():f} %" if category.code == "S" else category.code,
                        m(line.amount)))
    vat_rows = [(w("vat_on", rate=f"{b.category.percent.normalize():f}", basis=m(b.basis))
                 if b.category.code == "S" else w("vat_zero", code=b.category.code, basis=m(b.basis)),
                 m(b.tax)) for b in taxes(data)]
    notes = sorted({b.category.exemption_reason for b in taxes(data) if b.category.exemption_reason})
    start, end = invoice_period(data)
    summary = None
    if data.summary is not None:
        s = data.summary
        summary = [(w("starting_balance"), m(s.starting_balance)), ("+ " + w("added_funds"), m(s.added_funds)),
                   *([("+ " + w("credits"), m(s.credits))] if data.summary.credits else []),
                   ("− " + w("usage"), m(s.usage)), ("− " + w("refunds"), m(s.refunds)),
                   (w("ending_balance"), m(s.ending_balance))]
    due = due_date(data, seller)
    if data.credit_note:
        payment = w(f"settle.{data.settle or 'payable'}")
    elif data.total > 0:
        payment = w("pay", total=m(data.total), due=words.day(due, lang), number=data.number)
    else:
        payment = w("nothing_due")
    r = data.recipient
    context = {
        "lang": lang, "w": w, "data": data, "seller": seller, "rows": rows, "vat_rows": vat_rows,
        "notes": notes, "summary": summary, "payment": payment,
        "title": w("credit_note" if data.credit_note else "invoice"), "kind": w(f"kind.{data.kind}"),
        "issued": words.day(data.issued_at.date(), lang), "due": words.day(due, lang),
        "period": f"{words.day(start, lang)} – {words.day(end, lang)}",
        "corrected_on": words.day(data.corrects.issued_at.date(), lang)
        if data.corrects and data.corrects.issued_at else None,
        "subtotal": m(data.subtotal), "total": m(data.total),
        "recipient_country": country(r.country, lang), "seller_country": country(seller.country, lang),
        "prepaid": any(line.code in UNTAXED_CODES for line in data.lines),
        "terms": w("terms", days=seller.payment_terms_days),
        "vat_label": w("vat"), "zero": m(Decimal("0.00")),
    }
    return _environment().get_template("invoice.html").render(**context), stylesheet(lang)
