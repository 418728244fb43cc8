"""Every document of one invoice, from its data and the seller."""

from datetime import datetime

from . import cii, layout, pdf, words
from .model import Address, Document, InvoiceData, from_message
from .seller import Seller


def wants_xrechnung(data: InvoiceData) -> bool:
    """German business recipients get an XRechnung too; it needs their postal address (BR-DE-8, BR-DE-9)."""
    address = data.recipient.address
    return data.recipient.country == "DE" and address is not None and address.postal


def make(data: InvoiceData, seller: Seller) -> list[Document]:
    """The PDF/A-3b with the CII embedded, the CII alone, and the XRechnung where it is wanted."""
    lang = words.language(data.recipient.country)
    xml = cii.build(data, seller)
    title = f"{words.word(lang, 'credit_note' if data.credit_note else 'invoice')} {data.number}"
    printed = pdf.embed(pdf.render(*layout.to_page(data, seller)), xml, data, title, seller.name, lang)
    documents = [Document("pdf", f"{data.number}.pdf", printed), Document("cii", f"{data.number}.xml", xml)]
    if wants_xrechnung(data):
        documents.append(Document("xrechnung", f"{data.number}-xrechnung.xml",
                                  cii.build(data, seller, cii.XRECHNUNG)))
    return documents


def make_from(message: dict, address: Address | None, corrected_issued_at: datetime | None,
              seller: Seller) -> list[Document]:
    """`make` from what the queue of invoices without documents holds (a picklable call, for a worker)."""
    return make(from_message(message, address, corrected_issued_at), seller)
