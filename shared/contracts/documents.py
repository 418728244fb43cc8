"""`billing.internal.invoice-documents.v1`: the documents of an issued invoice or credit note.

Internal (not in CONTRACT.md): written by invoicing once a document is stored,
read by whatever serves or archives documents (the portal). §3.7 makes the
documents immutable and §6 serves them byte for byte as issued, so the bytes
travel whole with their SHA-256 and no reader ever renders them again.
"""

import base64
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, StringConstraints

from shared.contracts.base import ContractModel, Id, UtcDateTime

DocumentFormat = Literal["pdf", "cii", "xrechnung"]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class InvoiceDocument(ContractModel):
    """One stored document of an invoice: the PDF/A-3, its EN 16931 CII data, or the XRechnung file."""

    invoice_id: Id = Field(description="The invoice or credit note (`invoice_id` of §3.7); the key.")
    number: Annotated[str, StringConstraints(pattern=r"^(INV|CN)-[0-9]{4}-[0-9]{6}$")] = Field(
        description="Its number, `INV-…` or `CN-…`.")
    partner_id: Id = Field(description="The partner the invoice belongs to.")
    recipient_id: Id = Field(description="The invoice's recipient (partner or client id).")
    format: DocumentFormat = Field(
        description="`pdf`: the PDF/A-3b with the CII data embedded (Factur-X / ZUGFeRD, profile EN 16931); "
        "`cii`: that embedded EN 16931 XML alone; `xrechnung`: the XRechnung 3.0 file (German business "
        "recipients only).")
    media_type: Literal["application/pdf", "application/xml"] = Field(description="The HTTP content type.")
    filename: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="A file name for downloads, e.g. `INV-2026-000042.pdf`.")
    sha256: Sha256 = Field(description="SHA-256 of the bytes, lower-case hex.")
    size: NonNegativeInt = Field(description="Length of the bytes.")
    issued_at: UtcDateTime = Field(description="When the invoice was issued.")
    content_base64: str = Field(description="The bytes, standard base64.")

    @property
    def content(self) -> bytes:
        """The document's bytes."""
        return base64.b64decode(self.content_base64)
