"""What a document is made from: the §3.7 message of an invoice or credit note, read from its JSON.

Read from the message's JSON rather than the contract model, so a credit note (kind `credit_note`,
`corrects`, `reason`, `settle`, number `CN-…`) and fields added later take the same path; the
document then says exactly what the message says.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Address:
    """A recipient's postal address and e-mail for invoices, when the directory knows them (§14 UStG;
    XRechnung's BT-49, BT-52, BT-53). Contract 1.1's billing address has only a country and a VAT id;
    the Hub may send these as further fields of it (docs/invoicing.md, "The recipient's address")."""

    street: str | None
    postcode: str | None
    city: str | None
    email: str | None = None

    @property
    def postal(self) -> bool:
        return bool(self.street and self.postcode and self.city)


@dataclass(frozen=True, slots=True)
class Party:
    type: str
    id: str
    name: str
    country: str
    vat_id: str | None
    address: Address | None = None

    @property
    def email(self) -> str | None:
        return self.address.email if self.address else None


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    service_month: str | None
    category: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    starting_balance: Decimal
    added_funds: Decimal
    credits: Decimal
    usage: Decimal
    refunds: Decimal
    ending_balance: Decimal


@dataclass(frozen=True, slots=True)
class Corrected:
    """The invoice a credit note corrects (EN 16931 BG-3)."""

    invoice_id: str
    number: str
    issued_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvoiceData:
    invoice_id: str
    number: str
    kind: str
    partner_id: str
    recipient: Party
    period: str
    issued_at: datetime
    currency: str
    lines: tuple[Line, ...]
    subtotal: Decimal
    treatment: str
    rate: Decimal
    tax: Decimal
    total: Decimal
    summary: Summary | None
    corrects: Corrected | None
    reason: str | None
    settle: str | None

    @property
    def credit_note(self) -> bool:
        return self.kind == "credit_note"


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _money(value: str | None) -> Decimal:
    return Decimal(value) if value is not None else Decimal("0.00")


def from_message(message: dict[str, Any], address: Address | None = None,
                 corrected_issued_at: datetime | None = None) -> InvoiceData:
    """The document's data from the §3.7 message (as JSON), the recipient's address and, for a
    credit note, when the corrected invoice was issued."""
    r, tax, s, c = message["recipient"], message["tax"], message.get("summary"), message.get("corrects")
    return InvoiceData(
        invoice_id=message["invoice_id"], number=message["number"], kind=message["kind"],
        partner_id=message["partner_id"],
        recipient=Party(r["type"], r["id"], r["name"], r["country"], r.get("vat_id"), address),
        period=message["period"], issued_at=_utc(message["issued_at"]), currency=message["currency"],
        lines=tuple(Line(l["code"], l["description"], Decimal(l["quantity"]), Decimal(l["unit_price"]),
                         Decimal(l["amount"]), l.get("service_month"), l.get("category"))
                    for l in message["lines"]),
        subtotal=Decimal(message["subtotal"]), treatment=tax["treatment"], rate=Decimal(tax["rate"]),
        tax=Decimal(tax["amount"]), total=Decimal(message["total"]),
        summary=Summary(_money(s["starting_balance"]), _money(s["added_funds"]), _money(s.get("credits")),
                        _money(s["usage"]), _money(s["refunds"]), _money(s["ending_balance"])) if s else None,
        corrects=Corrected(c["invoice_id"], c["number"], corrected_issued_at) if c else None,
        reason=message.get("reason"), settle=message.get("settle"))


MEDIA_TYPES = {"pdf": "application/pdf", "cii": "application/xml", "xrechnung": "application/xml"}


@dataclass(frozen=True, slots=True)
class Document:
    """One stored document of an invoice: its format (pdf, cii, xrechnung), file name and bytes."""

    format: str
    filename: str
    content: bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


ADDRESS_FIELDS = ("street", "postcode", "city", "email")


def address_from(billing_address: dict[str, Any]) -> Address | None:
    """The postal address and e-mail a directory billing address carries beyond contract 1.1, if any."""
    values = {k: v for k in ADDRESS_FIELDS if isinstance(v := billing_address.get(k), str) and v.strip()}
    return Address(values.get("street"), values.get("postcode"), values.get("city"), values.get("email")) \
        if values else None
