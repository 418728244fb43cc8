"""The documents of an invoice or credit note: what a person reads and what a tax office accepts.

`make` turns the §3.7 message (as `model.InvoiceData`) and the seller into the documents stored
for it: the PDF/A-3b with the EN 16931 CII embedded, that CII alone, and for recipients in
Germany with a known postal address an XRechnung 3.0 file. Pure apart from reading fonts and
templates: the same input gives the same bytes (docs/invoicing.md, "Documents").
"""

import hashlib
from dataclasses import dataclass

from . import cii, layout, pdf, words
from .model import InvoiceData
from .seller import Seller

MEDIA_TYPES = {"pdf": "application/pdf", "cii": "application/xml", "xrechnung": "application/xml"}


@dataclass(frozen=True, slots=True)
class Document:
    format: str  # pdf, cii, xrechnung
    filename: str
    content: bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def wants_xrechnung(data: InvoiceData) -> bool:
    """German business recipients get an XRechnung too; it needs their postal address (BR-DE-8, BR-DE-9)."""
    address = data.recipient.address
    return data.recipient.country == "DE" and address is not None and address.postal


def make(data: InvoiceData, seller: Seller) -> list[Document]:
    lang = words.language(data.recipient.country)
    xml = cii.build(data, seller)
    title = f"{words.word(lang, 'credit_note' if data.credit_note else 'invoice')} {data.number}"
    printed = pdf.embed(pdf.render(layout.to_html(data, seller)), xml, data, title, seller.name, lang)
    documents = [Document("pdf", f"{data.number}.pdf", printed), Document("cii", f"{data.number}.xml", xml)]
    if wants_xrechnung(data):
        documents.append(Document("xrechnung", f"{data.number}-xrechnung.xml",
                                  cii.build(data, seller, cii.XRECHNUNG)))
    return documents
