"""The documents of an invoice (services/invoicing/documents/): EN 16931 data, tax as the law wants it,
XRechnung for German recipients, the PDF/A-3 with the data embedded, and the same bytes every time."""

import io
from decimal import Decimal

import pytest
from facturx import get_xml_from_pdf
from lxml import etree
from pypdf import PdfReader

from services.invoicing.adapters.renderer import ProcessRenderer
from services.invoicing.documents import cii, words
from services.invoicing.documents.make import make
from services.invoicing.documents.seller import EXAMPLE_SELLER, SellerIncomplete, from_settings
from services.invoicing.ports import DocumentSource
from shared.settings import SellerSettings
from tests.invoice_examples import example_data, examples

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
DATA = example_data()
MADE = {name: {d.format: d for d in make(data, EXAMPLE_SELLER)} for name, data in DATA.items()}


def xml(name: str, fmt: str = "cii") -> etree._Element:
    return etree.fromstring(MADE[name][fmt].content)


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text for e in root.xpath(path, namespaces=NS)]


def one(root: etree._Element, path: str) -> str:
    found = texts(root, path)
    assert len(found) == 1, (path, found)
    return found[0]


SUMMATION = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"


@pytest.mark.parametrize("name", sorted(DATA))
def test_the_documents_say_what_the_message_says(name):
    """Number, currency, line amounts, subtotal, VAT, total and amount due are the message's, exactly."""
    data, root = DATA[name], xml(name)
    assert one(root, "//rsm:ExchangedDocument/ram:ID") == data.number
    assert one(root, "//ram:InvoiceCurrencyCode") == data.currency
    amounts = [Decimal(a) for a in texts(root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")]
    assert amounts == ([line.amount for line in data.lines] or [Decimal("0.00")])
    assert Decimal(one(root, SUMMATION + "LineTotalAmount")) == data.subtotal
    assert Decimal(one(root, SUMMATION + "TaxBasisTotalAmount")) == data.subtotal
    assert Decimal(one(root, SUMMATION + "TaxTotalAmount")) == data.tax
    assert Decimal(one(root, SUMMATION + "GrandTotalAmount")) == data.total
    assert Decimal(one(root, SUMMATION + "DuePayableAmount")) == data.total


@pytest.mark.parametrize("name", sorted(DATA))
def test_the_same_invoice_and_seller_give_the_same_bytes(name):
    """Made again (a retry after a crash, a later re-creation), every document is byte for byte the same."""
    again = {d.format: d for d in make(DATA[name], EXAMPLE_SELLER)}
    assert {f: d.sha256 for f, d in again.items()} == {f: d.sha256 for f, d in MADE[name].items()}


async def test_a_worker_process_makes_the_same_bytes_as_this_process():
    """The service renders in spawned worker processes; what they make equals what this process makes."""
    renderer = ProcessRenderer(EXAMPLE_SELLER, workers=1)
    try:
        message, address, corrected = examples()["month_closing"]
        [documents] = await renderer([DocumentSource(message["invoice_id"], message, address, corrected)])
    finally:
        await renderer.close()
    assert {d.format: d.content for d in documents} == {f: d.content for f, d in MADE["month_closing"].items()}


def test_standard_tax_is_category_s_at_19_percent_with_both_vat_ids():
    """A German recipient: every taxed line S 19 %, one breakdown whose tax is the message's."""
    root = xml("subscription")
    assert set(texts(root, "//ram:IncludedSupplyChainTradeLineItem//ram:CategoryCode")) == {"S"}
    assert texts(root, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent") \
        == ["19.00"]
    assert texts(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") \
        == [EXAMPLE_SELLER.vat_id]
    assert texts(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["DE123456789"]


def test_reverse_charge_is_ae_with_its_exemption_code_note_and_both_vat_ids():
    """An EU business with a VAT id: AE, VATEX-EU-AE, the §13b note, the seller's and the buyer's VAT ids."""
    root = xml("license")
    tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"
    assert texts(root, tax + "CategoryCode") == ["AE"]
    assert texts(root, tax + "ExemptionReasonCode") == ["VATEX-EU-AE"]
    assert texts(root, tax + "ExemptionReason") == ["Steuerschuldnerschaft des Leistungsempfängers / Reverse charge"]
    assert "Steuerschuldnerschaft des Leistungsempfängers / Reverse charge" in texts(root, "//ram:IncludedNote/ram:Content")
    assert texts(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == ["DE999999999"]
    assert texts(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["ESX1234567X"]


def test_outside_scope_is_o_without_vat_ids_and_the_seller_known_by_tax_number_and_register():
    """Outside the EU: every line O, VATEX-EU-O, no VAT id at all (BR-O-02), tax number and register instead."""
    root = xml("partner_plan")
    assert set(texts(root, "//ram:CategoryCode")) == {"O"}
    assert texts(root, "//ram:ExemptionReasonCode") == ["VATEX-EU-O"]
    assert texts(root, "//ram:ID[@schemeID='VA']") == []
    assert texts(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") \
        == [EXAMPLE_SELLER.tax_number]
    assert one(root, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == EXAMPLE_SELLER.register_id


def test_usage_and_its_settlement_carry_no_vat_and_cancel_out_with_the_prepayment_reason():
    """Month closing: usage lines and the settlement (quantity -1, positive price) are E with the reason that
    the prepayment was taxed; their taxable amount is 0.00 and only the card fee carries VAT."""
    root = xml("month_closing")
    lines = root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    categories = [one(l, ".//ram:CategoryCode") for l in lines]
    assert categories == ["E", "E", "E", "E", "E", "S"]
    settled = lines[4]
    assert one(settled, ".//ram:BilledQuantity") == "-1"
    assert Decimal(one(settled, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount")) == Decimal("110.11")
    breakdown = {one(t, "ram:CategoryCode"): (one(t, "ram:BasisAmount"), one(t, "ram:CalculatedAmount"))
                 for t in root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)}
    assert breakdown == {"E": ("0.00", "0.00"), "S": ("4.00", "0.76")}
    assert "VAT was charged on the prepayment invoice" in one(
        root, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax[ram:CategoryCode='E']/ram:ExemptionReason")


def test_a_month_closing_invoice_without_lines_gets_one_zero_line():
    """EN 16931 needs a line: an invoice with none has one statement line of 0.00 in its treatment's category."""
    root = xml("month_closing_outside_scope")
    assert texts(root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount") == ["0.00"]
    assert set(texts(root, "//ram:CategoryCode")) == {"O"}


def test_a_credit_note_is_type_381_naming_the_corrected_invoice_with_positive_amounts():
    """Credit note: type code 381, BG-3 with the corrected invoice's number and date, positive amounts,
    and a PDF titled Rechnungskorrektur for a German recipient."""
    root = xml("credit_note")
    assert one(root, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "INV-2026-000002"
    assert one(root, "//ram:InvoiceReferencedDocument//*[local-name()='DateTimeString']") == "20261101"
    assert Decimal(one(root, SUMMATION + "GrandTotalAmount")) == Decimal("29.75") > 0
    text = PdfReader(io.BytesIO(MADE["credit_note"]["pdf"].content)).pages[0].extract_text()
    assert "Rechnungskorrektur CN-2026-000001" in text and "INV-2026-000002" in text
    assert "License acmeCH0001 billed twice" in text


@pytest.mark.parametrize(("country", "lang"), [("DE", "de"), ("AT", "de"), ("CH", "de"), ("FR", "en"),
                                               ("US", "en"), ("ES", "en")])
def test_german_for_recipients_in_germany_austria_and_switzerland_english_otherwise(country, lang):
    """The PDF's language follows the recipient's country."""
    assert words.language(country) == lang


def test_pdfs_are_in_the_recipients_language():
    """An Austrian client reads Rechnung, a French one Invoice."""
    german = PdfReader(io.BytesIO(MADE["month_closing_austria"]["pdf"].content)).pages[0].extract_text()
    english = PdfReader(io.BytesIO(MADE["license_prorated"]["pdf"].content)).pages[0].extract_text()
    assert "Rechnung INV-2026-000009" in german and "Guthabenkonto" in german
    assert "Invoice INV-2026-000006" in english and "Service period" in english


def test_xrechnung_is_made_for_german_recipients_with_a_postal_address_only():
    """DE with an address: an XRechnung with its guideline id, the CII otherwise the same; elsewhere none."""
    assert {n for n, made in MADE.items() if "xrechnung" in made} == {"prepayment", "subscription", "month_closing",
                                                                      "credit_note"}
    root = xml("subscription", "xrechnung")
    assert one(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == cii.XRECHNUNG
    assert one(xml("subscription"), "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == cii.EN16931
    assert one(root, "//ram:BuyerReference") == "acmePA"
    assert one(root, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName") == "München"


def test_the_pdf_is_pdf_a_3b_with_the_cii_embedded_as_factur_x():
    """The PDF carries factur-x.xml, byte for byte the CII document, and XMP saying PDF/A-3B, Factur-X EN 16931."""
    pdf = MADE["subscription"]["pdf"].content
    filename, embedded = get_xml_from_pdf(pdf, check_xsd=False)
    assert (filename, embedded) == ("factur-x.xml", MADE["subscription"]["cii"].content)
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    raw = xmp.stream.get_data().decode()
    assert "pdfaid:part" in raw and ">3<" in raw.split("pdfaid:part", 1)[1][:20]
    assert "EN 16931" in raw and "2026-11-01T00:05:07" in raw


def test_a_seller_with_a_missing_field_is_refused_naming_it():
    """Startup refuses a seller without, say, its IBAN, and says which variable sets it."""
    complete = {f: getattr(EXAMPLE_SELLER, f) for f in SellerSettings.model_fields}
    assert from_settings(SellerSettings(**complete)) == EXAMPLE_SELLER
    with pytest.raises(SellerIncomplete, match="the seller's iban is missing: set BILLING_INVOICING_SELLER__IBAN"):
        from_settings(SellerSettings(**{**complete, "iban": None}))
