"""The balance service's internal topics towards invoicing (not in CONTRACT.md).

- `billing.internal.ledger-entries.v1`: every payment and refund the ledger
  accepted (refused ones went to the payments DLQ), for prepayment invoices.
- `billing.internal.ledger-close.v1`: invoicing asks the ledger to close a
  booking month, once every status published before the close has been
  debited (the barrier is invoicing's). The command carries the barrier's
  offsets, so that a ledger that reads it again after its database was
  restored closes only once it has replayed as far.
- `billing.internal.ledger-closed.v1`: the ledger's answer: one
  `balance.closing` per balance with what was booked to the month, then one
  `ledger.closed` that says how many there were. One partition keeps them in
  that order.

The ledger is the source of truth for money: booking months are decided when
an entry is written (§4.3), and a closed month's summaries never change.
"""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt

from shared.contracts.base import (Amount, BillingModel, Category, ContractModel, Currency, Id, Month, Rate,
                                   UtcDateTime, absent_when_none)
from shared.contracts.payments import Account, PaymentMethod


class LedgerEntry(ContractModel):
    """A payment or refund written to a balance's ledger."""

    entry_id: Id = Field(description="The business id: `payment_id` or `refund_id`.")
    kind: Literal["payment", "refund"] = Field(description="A payment credits the balance, a refund debits it.")
    balance: Account = Field(description="The balance moved.")
    partner_id: Id = Field(description="The balance's partner.")
    client_id: Id | None = Field(None, description="The channel's client, for a Direct-Paid channel balance.")
    channel_id: Id | None = Field(None, description="The channel, for a Direct-Paid channel balance.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The balance's currency.")
    amount: Amount = Field(description="Positive: what was paid in or refunded.")
    method: PaymentMethod | None = Field(None, description="How a payment was paid; None for a refund.")
    occurred_at: UtcDateTime = Field(description="`paid_at` or `refunded_at`.")
    booked_month: Month = Field(description="The month it is booked to (§4.3).")
    topup_request_id: str | None = Field(None, description="The top-up request a payment answers.")
    balance_after: Amount = Field(description="The balance right after this entry.")


class LedgerClose(ContractModel):
    """Close a booking month: later movements of it are booked to the next open month."""

    type: Literal["ledger.close"] = Field(description="The command.")
    close_id: Id = Field(description="The month close this serves; the answer carries it back.")
    month: Month = Field(description="The month to close.")
    barrier: dict[str, dict[int, NonNegativeInt]] | None = Field(
        None, description="Topic → partition → offset the ledger has read up to (its stored positions) before it "
        "closes: the priced usage, payments, directory and balance credits as invoicing's barrier saw them. "
        "Absent on commands from before it existed.")


class UsageLine(ContractModel):
    """Charged messages of one channel and category booked to the month, by their usage month and the
    rate (volume-tier band) they were priced at."""

    channel_id: Id = Field(description="The channel that sent them.")
    client_id: Id = Field(description="The channel's client.")
    category: Category = Field(description="Meta's pricing category.")
    usage_month: Month = Field(description="When they were delivered; before the booked month means late.")
    quantity: NonNegativeInt = Field(description="How many messages.")
    amount: Amount = Field(description="What they cost, exactly (6 decimals).")
    rate: Rate | None = Field(None, exclude_if=absent_when_none,
                              description="The rate each of them was priced at; absent for usage priced "
                              "before rates were kept per entry.")
    tier_from: NonNegativeInt | None = Field(
        None, exclude_if=absent_when_none,
        description="The volume-tier band of that rate (its `from`); absent when no bands applied.")


class PaymentLine(ContractModel):
    """A payment booked to the month (card payments carry a transaction fee)."""

    payment_id: Id = Field(description="The payment.")
    method: PaymentMethod = Field(description="How it was paid.")
    amount: Amount = Field(description="What was paid.")
    paid_at: UtcDateTime = Field(description="When.")


class BalanceClosing(ContractModel):
    """What one balance's ledger holds for a closed month: `ending = starting + added + credits - usage - refunds`."""

    type: Literal["balance.closing"] = Field(description="One per balance and closed month.")
    close_id: Id = Field(description="The close that asked for it.")
    month: Month = Field(description="The closed month.")
    balance: Account = Field(description="The balance.")
    partner_id: Id = Field(description="The balance's partner.")
    client_id: Id | None = Field(None, description="The channel's client, for a Direct-Paid channel balance.")
    billing_model: BillingModel = Field(description="The partner's billing model.")
    currency: Currency = Field(description="The balance's currency.")
    starting_balance: Amount = Field(description="Everything booked before the month.")
    added_funds: Amount = Field(description="Payments booked to the month.")
    # A closing stored before credit notes existed has none.
    credits: Amount = Field(Decimal("0.00"), description="Credit notes settled to the balance, booked to the month.")
    usage: Amount = Field(description="Usage booked to the month, late usage included.")
    refunds: Amount = Field(description="Refunds booked to the month.")
    ending_balance: Amount = Field(description="starting + added + credits - usage - refunds.")
    usage_lines: list[UsageLine] = Field(description="The usage, per channel, category and usage month.")
    payments: list[PaymentLine] = Field(description="The payments booked to the month.")


class LedgerClosed(ContractModel):
    """Every `balance.closing` of the close has been published before this."""

    type: Literal["ledger.closed"] = Field(description="The end of a close's answer.")
    close_id: Id = Field(description="The close.")
    month: Month = Field(description="The closed month.")
    balances: NonNegativeInt = Field(description="How many `balance.closing` records came before.")


LedgerClosedEvent = Annotated[BalanceClosing | LedgerClosed, Field(discriminator="type")]
