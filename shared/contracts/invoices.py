"""`billing.invoices.v1` (CONTRACT.md §3.7): invoices and credit notes, written by invoicing, read by accounting.

The models check shape only. The arithmetic (line amounts, subtotal, tax,
total, the summary identity) is the invoicing service's to get right and to
test; re-checking it here would be a second, diverging implementation.
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import (
    Amount,
    BillingModel,
    Category,
    ContractModel,
    CountryCode,
    Currency,
    Id,
    Month,
    Name,
    Rate,
    UtcDateTime,
    absent_when_none,
)
from shared.contracts.commands import Settle

InvoiceKind = Literal["prepayment", "subscription", "partner_plan", "license", "license_prorated", "month_closing",
                      "credit_note"]
LineCode = Literal[
    "partner_plan",
    "partner_plan_prorated",
    "license",
    "license_prorated",
    "prepayment",
    "usage",
    "late_usage",
    "settled_with_credit_balance",
    "transaction_fee",
]
TaxTreatment = Literal["standard", "reverse_charge", "outside_scope"]
InvoiceNumber = Annotated[str, StringConstraints(pattern=r"^(INV|CN)-[0-9]{4}-[0-9]{6}$")]
"""`INV-<year>-<6 digits>` for invoices, `CN-<year>-<6 digits>` for credit notes (each its own sequence)."""


def _required_when(codes: list[str], fields: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"code": {"enum": codes}}, "required": ["code"]},
        "then": {"properties": {f: {"type": "string"} for f in fields}, "required": fields},
    }


# The usage-line rule below, stated for readers of the JSON Schema.
_USAGE_LINE_RULES: dict[str, Any] = {
    "allOf": [_required_when(["usage", "late_usage"], ["category"]), _required_when(["late_usage"], ["usage_month"])]
}
# The credit-note rule of Invoice below, likewise.
_CREDIT_NOTE_RULES: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": "credit_note"}}, "required": ["kind"]},
    "then": {"properties": {"number": {"pattern": "^CN-"}}, "required": ["corrects", "reason", "settle"]},
    "else": {"properties": {"number": {"pattern": "^INV-"}}},
}


class Recipient(ContractModel):
    """Who the invoice is addressed to, as known when it was issued."""

    type: Literal["partner", "client"] = Field(description="Whether the recipient is a partner or a client.")
    id: Id = Field(description="The partner or client id; the key.")
    name: Name = Field(description="Legal name.")
    country: CountryCode = Field(description="Country of the billing address; decides the tax treatment.")
    vat_id: Id | None = Field(default=None, description="VAT id, if any.")


class InvoiceLine(ContractModel):
    """One charged item."""

    model_config = ConfigDict(json_schema_extra=_USAGE_LINE_RULES)

    code: LineCode = Field(description="What the line charges.")
    description: Annotated[str, StringConstraints(max_length=1024)] = Field(description="Human-readable text.")
    quantity: Amount = Field(description="Number of units.")
    unit_price: Amount = Field(description="Price of one unit.")
    amount: Amount = Field(description="Line amount, rounded half up to 2 decimals; negative for credits.")
    service_month: Month | None = Field(default=None, description="The month the service was or will be provided.")
    client_id: Id | None = Field(default=None, description="The client the line is about, if any.")
    channel_id: Id | None = Field(default=None, description="The channel the line is about, if any.")
    # Left out rather than null on the lines that have none, as in the contract's example.
    category: Category | None = Field(
        default=None, exclude_if=absent_when_none, description="Pricing category; on `usage` and `late_usage`."
    )
    usage_month: Month | None = Field(
        default=None, exclude_if=absent_when_none, description="The month the usage happened; on `late_usage`."
    )

    @model_validator(mode="after")
    def _usage_lines_say_what_and_when(self) -> "InvoiceLine":
        # Accounting books usage by category, and late usage to its own month.
        if self.code in ("usage", "late_usage") and self.category is None:
            raise PydanticCustomError("usage_line", "a {code} line needs a category", {"code": self.code})
        if self.code == "late_usage" and self.usage_month is None:
            raise PydanticCustomError("usage_line", "a late_usage line needs a usage_month")
        return self


class Tax(ContractModel):
    """The tax of the whole invoice, from the recipient's billing address."""

    treatment: TaxTreatment = Field(description="`standard`, `reverse_charge` or `outside_scope`.")
    rate: Rate = Field(description="Tax rate as a fraction, e.g. `0.19`.")
    amount: Amount = Field(description="Tax amount, rounded half up to 2 decimals once per invoice.")


class InvoiceSummary(ContractModel):
    """The balance movements booked to the month (on `month_closing` invoices)."""

    starting_balance: Amount = Field(description="Balance at the start; the previous month's ending balance.")
    added_funds: Amount = Field(description="Payments booked to the month.")
    # Always written since 1.1; a 1.0 message has none because there were no credit notes.
    credits: Amount = Field(default=Decimal("0.00"), description="Credit notes settled to the balance and "
                            "booked to the month (since 1.1; `0.00` when none, and when a 1.0 message lacks it).")
    usage: Amount = Field(description="Usage booked to the month, unrounded.")
    refunds: Amount = Field(description="Refunds booked to the month.")
    ending_balance: Amount = Field(description="starting_balance + added_funds + credits - usage - refunds.")


class Corrects(ContractModel):
    """The invoice a credit note corrects."""

    invoice_id: Id = Field(description="Its `invoice_id`.")
    number: InvoiceNumber = Field(description="Its number.")


class Invoice(ContractModel):
    """An issued invoice or credit note; never changed once issued."""

    model_config = ConfigDict(json_schema_extra=_CREDIT_NOTE_RULES)

    invoice_id: Id = Field(description="Stable across re-emission, so accounting can deduplicate.")
    number: InvoiceNumber = Field(
        description="`INV-<year of issue>-<6 digits>`, gapless per year; `CN-…` for a credit note, its own sequence.")
    kind: InvoiceKind = Field(description="What the invoice bills.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    recipient: Recipient = Field(description="Who receives and pays the invoice.")
    partner_id: Id = Field(description="The partner the invoice belongs to.")
    client_id: Id | None = Field(default=None, description="The client, on Direct-Paid client invoices.")
    channel_id: Id | None = Field(default=None, description="The channel, on per-channel Direct-Paid invoices.")
    period: Month = Field(description="The month the invoice is about (§3.7).")
    issued_at: UtcDateTime = Field(description="When the invoice was issued.")
    currency: Currency = Field(description="The partner's currency.")
    lines: list[InvoiceLine] = Field(description="The charged items.")
    subtotal: Amount = Field(description="Sum of line amounts.")
    tax: Tax = Field(description="Tax of the invoice.")
    total: Amount = Field(description="subtotal + tax.amount.")
    summary: InvoiceSummary | None = Field(default=None, description="Balance summary; on `month_closing` only.")
    # Left out of ordinary invoices, which keep the shape they had in 1.0.
    corrects: Corrects | None = Field(default=None, exclude_if=absent_when_none,
                                      description="The invoice a `credit_note` corrects (since 1.1).")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, exclude_if=absent_when_none, description="Why, on a `credit_note` (since 1.1).")
    settle: Settle | None = Field(
        default=None, exclude_if=absent_when_none,
        description="On a `credit_note` (since 1.1): `credit_balance` (back to the prepaid balance) or `payable`.")

    @model_validator(mode="after")
    def _credit_notes_say_what_they_correct(self) -> "Invoice":
        credit_note = self.kind == "credit_note"
        if credit_note != self.number.startswith("CN-"):
            raise PydanticCustomError("invoice_number", "number: a credit_note is numbered CN-…, any other kind INV-…")
        if credit_note and (self.corrects is None or self.reason is None or self.settle is None):
            raise PydanticCustomError("credit_note", "a credit_note needs corrects, reason and settle")
        return self
