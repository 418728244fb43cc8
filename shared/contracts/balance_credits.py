"""`billing.internal.balance-credits.v1`: a credit note settled to a prepaid balance.

Internal (not in CONTRACT.md): written by invoicing (through its outbox, in
the transaction that records the credit note), read by balance. A credit note
with `settle: credit_balance` (§3.5) gives its total, tax included, back to
the balance the corrected invoice belongs to. `credit_id` is the credit
note's `invoice_id`: the ledger books each at most once, so a record
published twice (a crash between the publish and the outbox's delete) credits
nothing twice.
"""

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.contracts.base import BillingModel, ContractModel, Currency, Id, PositiveAmount, UtcDateTime
from shared.contracts.payments import Account

CreditNoteNumber = Annotated[str, StringConstraints(pattern=r"^CN-[0-9]{4}-[0-9]{6}$")]


class BalanceCredit(ContractModel):
    """Money a credit note gives back to a prepaid balance."""

    credit_id: Id = Field(description="The credit note's `invoice_id`: the ledger entry's business id.")
    number: CreditNoteNumber = Field(description="The credit note's number, `CN-…`.")
    corrects_invoice_id: Id = Field(description="The invoice the credit note corrects.")
    balance: Account = Field(description="The balance credited: the partner's (Partner-Paid) or the channel's.")
    partner_id: Id = Field(description="The balance's partner.")
    client_id: Id | None = Field(None, description="The channel's client, for a Direct-Paid channel balance.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The credit note's currency, the balance's.")
    amount: PositiveAmount = Field(description="The credit note's total, tax included.")
    issued_at: UtcDateTime = Field(description="When the credit note was issued: the entry's time.")

