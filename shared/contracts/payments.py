"""`billing.payments.v1` (CONTRACT.md §3.4): money in and out of balances.

The models accept any well-formed amount, zero and negative included: a
non-positive amount is a business rejection with its own dead-letter code
(`invalid_amount`), decided by the balance service, not a schema error.
"""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import Amount, ContractModel, Currency, Id, UtcDateTime, absent_when_none

PaymentMethod = Literal["card", "bank_transfer", "pix", "boleto"]

_OWNER_FIELDS = ("partner_id", "channel_id")

# The "exactly one owner" rule, stated for readers of the JSON Schema.
_EXACTLY_ONE_OWNER: dict[str, Any] = {
    "oneOf": [{"properties": {name: {"type": "string"}}, "required": [name]} for name in _OWNER_FIELDS]
}


class Account(ContractModel):
    """Names one credit balance: a Partner-Paid partner's, or a Direct-Paid channel's."""

    model_config = ConfigDict(json_schema_extra=_EXACTLY_ONE_OWNER)

    # The contract writes {"partner_id": ...} alone; a `"channel_id": null` beside it is
    # a shape external readers have never been shown.
    partner_id: Id | None = Field(
        default=None, exclude_if=absent_when_none, description="The partner, for a Partner-Paid shared balance."
    )
    channel_id: Id | None = Field(
        default=None, exclude_if=absent_when_none, description="The channel, for a Direct-Paid channel balance."
    )

    @model_validator(mode="after")
    def _exactly_one_owner(self) -> "Account":
        if (self.partner_id is None) == (self.channel_id is None):
            raise PydanticCustomError("account_owner", "exactly one of partner_id and channel_id must be given")
        return self

    @property
    def owner_id(self) -> str:
        """The id that owns the balance; the Kafka key of payments and balance events."""
        owner = self.partner_id if self.partner_id is not None else self.channel_id
        assert owner is not None  # guaranteed by _exactly_one_owner
        return owner


class PaymentSucceeded(ContractModel):
    """Money was paid into a balance (a top-up)."""

    type: Literal["payment.succeeded"] = Field(description="Event type.")
    payment_id: Id = Field(description="The provider's payment id; a payment is applied once.")
    account: Account = Field(description="The balance credited.")
    amount: Amount = Field(description="Amount paid; must be positive, else dead-lettered as `invalid_amount`.")
    currency: Currency = Field(description="Must be the partner's currency.")
    method: PaymentMethod = Field(description="How it was paid; `card` carries a transaction fee.")
    paid_at: UtcDateTime = Field(description="When it was paid; decides the month it is booked to.")
    topup_request_id: Id | None = Field(
        default=None, description="The `topup.requested` this payment answers, if any."
    )


class RefundSucceeded(ContractModel):
    """Money was paid back out of a balance."""

    type: Literal["refund.succeeded"] = Field(description="Event type.")
    refund_id: Id = Field(description="The provider's refund id; a refund is applied once.")
    account: Account = Field(description="The balance debited.")
    amount: Amount = Field(description="Amount refunded; must be positive and not exceed the balance.")
    currency: Currency = Field(description="Must be the partner's currency.")
    refunded_at: UtcDateTime = Field(description="When it was refunded; decides the month it is booked to.")


PaymentEvent = Annotated[PaymentSucceeded | RefundSucceeded, Field(discriminator="type")]
"""Any message of `billing.payments.v1`, told apart by `type`."""
