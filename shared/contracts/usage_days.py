"""`billing.internal.usage-days.v1`: settled messages per channel, category and day, as running totals.

Internal (not in CONTRACT.md): written by usage ingest, one record per
(channel, day, category) that a batch settled messages of (never per
message), read by the portal's read model. Each record carries the running
totals of that (channel, day, category) after the batch and a version that
grows with every batch that added to them, so a reader keeps the highest
version: a record published twice, or relayed out of order, changes nothing.
"""

from pydantic import Field, NonNegativeInt, PositiveInt

from shared.contracts.base import Amount, BillingModel, Category, ContractModel, Currency, Id, IsoDate


class UsageDay(ContractModel):
    """What one channel sent in one category on one UTC day, so far."""

    usage_day_id: Id = Field(description="Stable: `<channel id>/<day>/<category>/<version>`.")
    channel_id: Id = Field(description="The channel; the key.")
    client_id: Id = Field(description="The channel's client.")
    partner_id: Id = Field(description="The channel's partner.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The partner's currency, that of `amount`.")
    day: IsoDate = Field(description="The UTC day of the messages' billing time.")
    category: Category = Field(description="Meta's pricing category.")
    charged: NonNegativeInt = Field(description="Charged messages so far.")
    free: NonNegativeInt = Field(description="Free messages so far (counted, never charged).")
    amount: Amount = Field(description="What the charged messages cost so far, exactly.")
    version: PositiveInt = Field(description="Grows with every batch that adds to these totals: the newest wins.")
