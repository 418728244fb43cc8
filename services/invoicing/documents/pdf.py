"""The PDF/A-3b a person files, with its EN 16931 data embedded (Factur-X / ZUGFeRD, profile EN 16931).

WeasyPrint prints the HTML as PDF/A-3b; factur-x embeds the CII XML and writes the XMP that declares
it. Both are deterministic given the invoice: WeasyPrint takes its dates from the page's
`dcterms.created` (the issue time) and derives the file /ID from the content, and factur-x, which
reads the wall clock for its timestamps, reads the invoice's issue time instead (`_issued_clock`).
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

import facturx.facturx as facturx_module
from facturx import generate_from_binary
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .model import InvoiceData

_CLOCK = threading.Lock()
# Both libraries narrate every step at INFO; a service making thousands of documents wants none of it.
for _name in ("weasyprint", "weasyprint.progress", "fontTools", "factur-x", "facturx"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@contextmanager
def _issued_clock(at: datetime) -> Iterator[None]:
    """factur-x asks `datetime.now()` for the embedded file's and the XMP's dates; answer with `at`."""

    class Issued(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return at.astimezone(tz) if tz else at.astimezone(UTC).replace(tzinfo=None)

    with _CLOCK:
        real = facturx_module.datetime
        facturx_module.datetime = Issued  # type: ignore[misc]
        try:
            yield
        finally:
            facturx_module.datetime = real  # type: ignore[misc]


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet(css: str) -> CSS:
    return CSS(string=css, font_config=_fonts())


def render(html: str, css: str) -> bytes:
    """The HTML page printed as PDF/A-3b with `css`. The parsed stylesheet and the font configuration are
    kept for the next page (a third of the time of a page); the bytes are those of a fresh render."""
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b", stylesheets=[_stylesheet(css)],
                                       font_config=_fonts())


def embed(pdf: bytes, cii: bytes, data: InvoiceData, title: str, author: str, lang: str) -> bytes:
    """`pdf` with `cii` embedded as factur-x.xml (relationship Data) and the Factur-X XMP."""
    with _issued_clock(data.issued_at):
        return generate_from_binary(pdf, cii, flavor="factur-x", level="en16931", check_xsd=True,
                             pdf_metadata={"author": author, "keywords": "Factur-X, EN 16931",
                                           "title": title, "subject": title},
                             lang=lang, afrelationship="data")
