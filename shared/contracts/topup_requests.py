"""`billing.internal.topup-requests.v1`: someone asks for a top-up of a balance.

Internal (not in CONTRACT.md): written by the portal when a partner or client
asks for a top-up, read by balance, which announces it to the payment
provider as `topup.requested` on `billing.balance-events.v1` (CONTRACT.md
§3.6) with the same `request_id`. The provider's `payment.succeeded` echoes
that id. Balance takes each `request_id` once.
"""

from typing import Literal

from pydantic import Field

from shared.contracts.base import Amount, ContractModel, Currency, Id, UtcDateTime
from shared.contracts.payments import Account


class TopupRequest(ContractModel):
    """Ask the payment provider to charge `amount` into a balance."""

    type: Literal["topup.request"] = Field(description="The command.")
    request_id: Id = Field(description="Stable per request; becomes `topup.requested.request_id`.")
    balance: Account = Field(description="The balance to top up; its owner id is the key.")
    amount: Amount = Field(description="How much to charge; positive.")
    currency: Currency = Field(description="The balance's currency.")
    requested_by: Id = Field(description="Who asked: `partner:<id>`, `client:<id>` or `finance`.")
    requested_at: UtcDateTime = Field(description="When.")
