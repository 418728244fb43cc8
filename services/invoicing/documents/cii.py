"""The EN 16931 data of an invoice or credit note in CII syntax, written by drafthorse.

One builder for both files: the Factur-X / ZUGFeRD profile EN 16931 (embedded in the PDF, and the
`cii` document) and XRechnung 3.0, which is the same CII with the XRechnung guideline id. Both
carry what XRechnung wants beyond EN 16931 (buyer reference, electronic addresses, the seller's
contact, payment instructions), so one document validates against both rule sets.
"""

from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from . import words
from .content import document_lines, due_date, invoice_period, month_span, taxes
from .model import InvoiceData, Line
from .seller import Seller
from .taxes import REVERSE_CHARGE_NOTE, Category

EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BUSINESS_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01.0"  # BT-23, wanted by XRechnung
CREDIT_TRANSFER, CLEARING = "58", "97"  # UNCL4461: SEPA credit transfer; clearing between partners


def build(data: InvoiceData, seller: Seller, guideline: str = EN16931) -> bytes:
    """The CII XML (UTF-8) of `data` issued by `seller`."""
    lang = words.language(data.recipient.country)
    outside = data.treatment == "outside_scope"
    doc = Document()
    doc.context.business_parameter.id = BUSINESS_PROCESS
    doc.context.guideline_parameter.id = guideline
    doc.header.id = data.number
    doc.header.type_code = "381" if data.credit_note else "380"

    doc.header.issue_date_time = data.issued_at.date()
    _notes(doc, data, seller)
    _parties(doc, data, seller, outside)
    for position, (line, category) in enumerate(document_lines(data), start=1):
        doc.trade.items.add(_item(position, line, category, data))
    _settlement(doc, data, seller)
    return doc.serialize(schema="FACTUR-X_EN16931")


def _note(doc: Document, text: str, subject: str | None = None) -> None:
    note = IncludedNote(content=text)
    if subject:
        note.subject_code = subject
    doc.header.notes.add(note)


def _notes(doc: Document, data: InvoiceData, seller: Seller) -> None:
    if data.credit_note and data.reason:
        _note(doc, data.reason, "ACD")  # UNCL4451 ACD: reason
    if data.treatment == "reverse_charge":
        _note(doc, REVERSE_CHARGE_NOTE, "TXD")
    _note(doc, f"{seller.name}, {seller.street}, {seller.postcode} {seller.city}. {seller.commercial_register}. "
               f"{words.word('de', 'directors')}: {seller.managing_directors}", "REG")


def _parties(doc: Document, data: InvoiceData, seller: Seller, outside: bool) -> None:
    agreement = doc.trade.agreement
    agreement.buyer_reference = data.recipient.id
    s = agreement.seller
    s.name = seller.name
    s.description = f"{seller.commercial_register}. {seller.managing_directors}"
    s.legal_organization.id = seller.register_id
    s.legal_organization.trade_name = seller.name
    s.address.line_one = seller.street
    s.address.postcode = seller.postcode
    s.address.city_name = seller.city
    s.address.country_id = seller.country
    s.electronic_address.uri_ID = ("EM", seller.contact_email)
    s.contact.person_name = seller.contact_name
    s.contact.telephone.number = seller.contact_phone
    s.contact.email.address = seller.contact_email
    s.tax_registrations.add(TaxRegistration(id=("FC", seller.tax_number)))
    if not outside:  # BR-O-02: no VAT id on an outside-scope invoice
        s.tax_registrations.add(TaxRegistration(id=("VA", seller.vat_id)))
    r = data.recipient
    b = agreement.buyer
    b.id = r.id
    b.name = r.name
    b.address.country_id = r.country
    if r.address is not None and r.address.postal:
        b.address.line_one = r.address.street
        b.address.postcode = r.address.postcode
        b.address.city_name = r.address.city
    if r.email:
        b.electronic_address.uri_ID = ("EM", r.email)
    elif r.vat_id and r.country == "DE":
        b.electronic_address.uri_ID = ("9930", r.vat_id)  # EAS 9930: a German VAT id
    if r.vat_id and not outside:
        b.tax_registrations.add(TaxRegistration(id=("VA", r.vat_id)))
    # The service is delivered to the recipient (BG-13); CII's delivery element must not be empty.
    ship = doc.trade.delivery.ship_to
    ship.name = r.name
    ship.address.country_id = r.country
    if r.address is not None and r.address.postal:
        ship.address.line_one = r.address.street
        ship.address.postcode = r.address.postcode
        ship.address.city_name = r.address.city


def _item(position: int, line: Line, category: Category, data: InvoiceData) -> LineItem:
    item = LineItem()
    item.document.line_id = str(position)
    item.product.name = line.description
    # BR-27: a price is never negative; a negative amount is a negative quantity.
    quantity = -line.quantity if line.amount < 0 and line.unit_price < 0 else line.quantity
    price = abs(line.unit_price)
    item.agreement.net.amount = price
    item.delivery.billed_quantity = (quantity, "C62")
    tax = item.settlement.trade_tax
    tax.type_code = "VAT"
    tax.category_code = category.code
    if category.code != "O":  # BR-O-05: a line not subject to VAT has no rate
        tax.rate_applicable_percent = category.percent
    if line.service_month:
        start, end = month_span(line.service_month)
        item.settlement.period.start = start
        item.settlement.period.end = end
    item.settlement.monetary_summation.total_amount = line.amount
    return item


def _settlement(doc: Document, data: InvoiceData, seller: Seller) -> None:
    st = doc.trade.settlement
    st.currency_code = data.currency
    st.payment_reference = data.number
    means = PaymentMeans()
    if data.credit_note:
        means.type_code = CLEARING
        lang = words.language(data.recipient.country)
        means.information.add(words.word(lang, f"settle.{data.settle or 'payable'}"))
    else:
        means.type_code = CREDIT_TRANSFER
        means.payee_account.iban = seller.iban
        means.payee_account.account_name = seller.name
        means.payee_institution.bic = seller.bic
    st.payment_means.add(means)
    for b in taxes(data):
        tax = ApplicableTradeTax()
        tax.calculated_amount = b.tax
        tax.type_code = "VAT"
        if b.category.exemption_reason:
            tax.exemption_reason = b.category.exemption_reason
        tax.basis_amount = b.basis
        tax.category_code = b.category.code
        if b.category.exemption_code:
            tax.exemption_reason_code = b.category.exemption_code
        tax.rate_applicable_percent = b.category.percent
        st.trade_tax.add(tax)
    start, end = invoice_period(data)
    st.period.start = start
    st.period.end = end
    terms = PaymentTerms()
    lang = words.language(data.recipient.country)
    terms.description = words.word(lang, "terms", days=seller.payment_terms_days)
    terms.due = due_date(data, seller)
    st.terms.add(terms)
    m = st.monetary_summation
    m.line_total = data.subtotal
    m.charge_total = Decimal("0.00")
    m.allowance_total = Decimal("0.00")
    m.tax_basis_total = (data.subtotal, None)  # CII-DT-031: only the VAT total names its currency
    m.tax_total = (data.tax, data.currency)
    m.grand_total = (data.total, None)
    m.prepaid_total = Decimal("0.00")
    m.due_amount = data.total
    if data.corrects is not None:
        ref = st.invoice_referenced_document
        ref.issuer_assigned_id = data.corrects.number
        if data.corrects.issued_at is not None:
            ref.issue_date_time = data.corrects.issued_at.date()
