"""`billing.internal.usage-priced.v1`: one charged message, priced, for the balance service.

Internal (not in CONTRACT.md): written by usage ingest, read by balance. The
record is keyed by the balance it debits, so every debit of one balance is
applied by one consumer. `usage_id` is the charged unit's key: the message's
`status.id`, or `<status.id>/<participant key>` for one participant of a group
message (the key is a keyed hash of the participant's number, never the number).
Balance debits each usage id at most once, so a record published twice (after a
crash between the publish and the outbox's delete) costs nothing twice.
"""

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, StringConstraints

from shared.contracts.base import (Amount, BillingModel, Category, ContractModel, CountryCode, Currency, Id,
                                   Month, Rate, UtcDateTime, absent_when_none)
from shared.contracts.payments import Account

# A wamid (up to 256) and, for a group participant, "/" and its 32-character key.
UsageId = Annotated[str, StringConstraints(min_length=1, max_length=320)]


class PricedUsage(ContractModel):
    """A delivered, billable message and what it costs."""

    usage_id: UsageId = Field(description="The charged unit: `status.id`, or `<status.id>/<participant key>` in a "
                              "group; the debit's business id.")
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
    rate: Rate = Field(description="The rate for (market, category); with volume tiers, the rate of the "
                       "message's band.")
    tier_from: NonNegativeInt | None = Field(
        None, exclude_if=absent_when_none, description="The volume-tier band the message was priced in (its "
        "`from`); absent when the (market, category) has no bands.")
    amount: Amount = Field(description="What the message costs: the rate, exactly.")
    billed_at: UtcDateTime = Field(description="`status.timestamp` of the delivery evidence: the billing time.")
    usage_month: Month = Field(description="The UTC month of `billed_at`.")
