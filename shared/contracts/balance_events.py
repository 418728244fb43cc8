"""`billing.balance-events.v1` (CONTRACT.md §3.6): balance crossings, written by balance.

Every event repeats the balance's state after the change, so that a reader
acting on one event (pausing channels, sending a notification) needs no
other source. `event_id` is stable across redelivery: readers deduplicate by it.
"""

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.base import Amount, ContractModel, Currency, Id, UtcDateTime
from shared.contracts.payments import Account


class _BalanceEventBase(ContractModel):
    # `type` is declared first so that it leads the serialised object in every subclass.
    type: str = Field(description="Event type.")
    event_id: Id = Field(description="Unique, stable across redelivery.")
    balance: Account = Field(description="The balance, named as in payments' `account`; its owner id is the key.")
    balance_amount: Amount = Field(description="The balance after the change; may be negative.")
    currency: Currency = Field(description="The balance's currency.")
    at: UtcDateTime = Field(description="When the balance crossed.")


class BalanceLow(_BalanceEventBase):
    """The balance fell from at or above its auto-renewal threshold to below it."""

    type: Literal["balance.low"] = Field(description="Event type.")
    threshold: Amount = Field(description="The auto-renewal threshold that was crossed.")


class TopupRequested(_BalanceEventBase):
    """Auto-renewal asks the payment provider for a top-up (sent with `balance.low`)."""

    type: Literal["topup.requested"] = Field(description="Event type.")
    request_id: Id = Field(description="Echoed as `topup_request_id` by the payment that answers it.")
    amount: Amount = Field(description="The auto-renewal amount to charge.")


class BalanceDepleted(_BalanceEventBase):
    """The balance fell from above zero to zero or less: these channels must pause."""

    type: Literal["balance.depleted"] = Field(description="Event type.")
    channel_ids: list[Id] = Field(description="Every channel that must pause outbound messages.")


class BalanceRestored(_BalanceEventBase):
    """The balance rose from zero or less to above zero: these channels may send again."""

    type: Literal["balance.restored"] = Field(description="Event type.")
    channel_ids: list[Id] = Field(description="Every channel that may send again.")


BalanceEvent = Annotated[
    BalanceLow | TopupRequested | BalanceDepleted | BalanceRestored,
    Field(discriminator="type"),
]
"""Any message of `billing.balance-events.v1`, told apart by `type`."""
