"""`billing.commands.v1` (CONTRACT.md §3.5): commands to the invoicing service.

`month.close` closes a month; `invoice.credit` (since 1.1) corrects an issued
invoice with a credit note. `Command` is a union discriminated by `type`, so
an unknown `type` is refused with a message naming the field.
"""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import ContractModel, Id, Month, PositiveAmount, absent_when_none

Settle = Literal["credit_balance", "payable"]
_CENT = Decimal("0.01")


class MonthClose(ContractModel):
    """Issue the invoices of a month; closing a closed month issues nothing new."""

    type: Literal["month.close"] = Field(description="Command type.")
    command_id: Id = Field(description="Identifies the command, e.g. `close-2026-10`.")
    month: Month = Field(description="The month to close (UTC calendar month); the key.")


class CreditLine(ContractModel):
    """How much of one line of the corrected invoice to credit."""

    line: Annotated[int, Field(strict=True, ge=0)] = Field(
        description="The line's position on the corrected invoice, 0-based.")
    amount: PositiveAmount = Field(description="What to credit, in cents: at most what is left uncredited.")

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        # A credit note line is an invoice line: an amount in cents (§4.2).
        if value != value.quantize(_CENT):
            raise PydanticCustomError("credit_amount", "Amount must have at most 2 decimal places")
        return value


class InvoiceCredit(ContractModel):
    """Correct an issued invoice with a credit note; the same `command_id` twice issues one."""

    type: Literal["invoice.credit"] = Field(description="Command type.")
    command_id: Id = Field(description="Identifies the command; the credit note's id is derived from it.")
    invoice_id: Id = Field(description="The invoice to correct (`invoice_id` of §3.7).")
    lines: Annotated[list[CreditLine], Field(min_length=1)] | None = Field(
        default=None, exclude_if=absent_when_none,
        description="The lines to credit and how much; absent: every line in full, what is left of it.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)] = Field(
        description="Why the invoice is corrected; printed on the credit note.")
    settle: Settle = Field(
        description="`credit_balance`: the credit, tax included, goes back to the prepaid balance the invoice "
        "belongs to; `payable`: accounting pays it out or offsets it.")

    @field_validator("lines")
    @classmethod
    def _each_line_once(cls, lines: list[CreditLine] | None) -> list[CreditLine] | None:
        positions = [c.line for c in lines or []]
        if len(set(positions)) != len(positions):
            raise PydanticCustomError("credit_lines", "each line may be named once")
        return lines


Command = Annotated[MonthClose | InvoiceCredit, Field(discriminator="type")]
"""Any message of `billing.commands.v1`, told apart by `type`."""
