"""`billing.commands.v1` (CONTRACT.md §3.5): commands to the invoicing service.

Only `month.close` exists in v1. `Command` is still a union discriminated by
`type`, so that a command added later is a new member, not a new parser, and
an unknown `type` is refused with a message naming the field.
"""

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.base import ContractModel, Id, Month


class MonthClose(ContractModel):
    """Issue the invoices of a month; closing a closed month issues nothing new."""

    type: Literal["month.close"] = Field(description="Command type.")
    command_id: Id = Field(description="Identifies the command, e.g. `close-2026-10`.")
    month: Month = Field(description="The month to close (UTC calendar month); the key.")


# A one-member union is still a tagged union in pydantic, with the same errors as more.
Command = Annotated[MonthClose, Field(discriminator="type")]
"""Any message of `billing.commands.v1`, told apart by `type`."""
