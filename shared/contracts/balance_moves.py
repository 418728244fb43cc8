"""`billing.internal.balance-moves.v1`: a balance's amount after a batch moved it.

Internal (not in CONTRACT.md): written by balance, one record per balance and
per transaction that moved it (never per message), read by the portal's read
model. The record carries the balance's amount after the move and a version
that grows by one with every move of that balance, so a reader keeps the
highest version it has seen: a record published twice, or two records
relayed out of order, leave the newest amount in place. `move_id` is stable
(the balance and its version), for readers that log what they applied.
"""

from pydantic import Field, PositiveInt

from shared.contracts.base import Amount, BillingModel, ContractModel, Currency, Id, UtcDateTime
from shared.contracts.payments import Account


class BalanceMoved(ContractModel):
    """A balance after one transaction of usage, payments or refunds moved it."""

    move_id: Id = Field(description="Stable: `<owner id>/<version>`.")
    balance: Account = Field(description="The balance, named as in payments' `account`; its owner id is the key.")
    partner_id: Id = Field(description="The balance's partner.")
    client_id: Id | None = Field(None, description="The channel's client, for a Direct-Paid channel balance.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The balance's currency.")
    amount: Amount = Field(description="The balance after the move (exact, may be negative).")
    version: PositiveInt = Field(description="Grows by one with every move of this balance: the newest wins.")
    updated_at: UtcDateTime = Field(description="The time of the latest movement in the transaction.")
