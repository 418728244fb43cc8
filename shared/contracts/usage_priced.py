"""`billing.internal.usage-priced.v1`: one charged message, priced, for the balance service.

Internal (not in CONTRACT.md): written by usage ingest, read by balance. The
record is keyed by the balance it debits, so every debit of one balance is
applied by one consumer. `usage_id` is the message's `status.id`; balance
debits each usage id at most once, so a record published twice (after a crash
between the publish and the outbox's delete) costs nothing twice.
"""

from typing import Literal

from pydantic import Field

from shared.contracts.base import (Amount, BillingModel, Category, ContractModel, CountryCode, Currency, Id,
                                   Month, Rate, UtcDateTime)
from shared.contracts.payments import Account
from shared.contracts.status import MessageId


class PricedUsage(ContractModel):
    """A delivered, billable message and what it costs."""

    usage_id: MessageId = Field(description="The message's `status.id`: the debit's business id.")
    balance: Account = Field(description="The balance to debit: the partner's (Partner-Paid) or the channel's.")
    partner_id: Id = Field(description="The channel's partner.")
    client_id: Id = Field(description="The channel's client.")
    channel_id: Id = Field(description="The channel that sent the message.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The partner's currency, the rate card's and the amount's.")
    category: Category = Field(description="Meta's pricing category.")
    pricing_model: Literal["PMP", "CBP"] = Field(description="Per message, or per conversation (legacy).")
    conversation_id: str | None = Field(None, description="The conversation, for CBP.")
    country: CountryCode | None = Field(
        None, description="The recipient's country from its calling code; None when the number has none.")
    market: str = Field(description="The rate card's market for that country.")
    ratecard_id: Id = Field(description="The rate card in force at the billing time.")
    rate: Rate = Field(description="The rate for (market, category).")
    amount: Amount = Field(description="What the message costs: the rate, exactly.")
    billed_at: UtcDateTime = Field(description="`status.timestamp` of the delivery evidence: the billing time.")
    usage_month: Month = Field(description="The UTC month of `billed_at`.")
