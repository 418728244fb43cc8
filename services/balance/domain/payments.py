"""Which payments and refunds a balance takes, and why it refuses the others (CONTRACT.md §3.4)."""

from decimal import Decimal

from shared.contracts import ErrorCode, PaymentSucceeded, RefundSucceeded, TopupRequest

from .ledger import BalanceState

# Amounts beyond this are not money anyone pays into a messaging balance: a
# typo or an attack, refused rather than credited.
MAX_AMOUNT = Decimal("10000000")


def refusal(event: PaymentSucceeded | RefundSucceeded, balance: BalanceState | None, available: Decimal,
            partner_model: str | None) -> tuple[ErrorCode, str] | None:
    """Why this payment or refund cannot be applied to `balance` (holding `available` at this point
    of the batch), or None when it can. `partner_model` is the billing model of the named account's
    partner when the directory knows the account but it has no balance (it names the other model)."""
    account = event.account
    named = f"partner_id {account.partner_id}" if account.partner_id else f"channel_id {account.channel_id}"
    if balance is None:
        if partner_model == "partner_paid":
            return ErrorCode.UNKNOWN_ACCOUNT, (f"account: {named} is a channel of a Partner-Paid partner; "
                                               "its usage is paid from the partner's balance")
        if partner_model == "direct_paid":
            return ErrorCode.UNKNOWN_ACCOUNT, (f"account: {named} is a Direct-Paid partner; "
                                               "its balances are its channels'")
        return ErrorCode.UNKNOWN_ACCOUNT, f"account: no balance for {named}"
    if event.currency != balance.currency:
        return ErrorCode.CURRENCY_MISMATCH, f"currency: the balance is in {balance.currency}, not {event.currency}"
    amount = event.amount
    if amount <= 0:
        return ErrorCode.INVALID_AMOUNT, f"amount: must be positive, got {amount}"
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.000001")):
        return ErrorCode.INVALID_AMOUNT, f"amount: {amount} is out of range (at most {MAX_AMOUNT}, 6 decimals)"
    if isinstance(event, RefundSucceeded) and amount > available:
        # Not the balance itself: debits move it, and a batch read again after a rebalance must write the
        # same dead letter (the caller logs the balance it saw).
        return ErrorCode.REFUND_EXCEEDS_BALANCE, f"amount: refund of {amount} exceeds what the balance holds"
    return None


def topup_refusal(request: TopupRequest, balance: BalanceState | None) -> tuple[ErrorCode, str] | None:
    """Why a requested top-up cannot be announced for `balance`: what its payment would be refused for."""
    if balance is None:
        return ErrorCode.UNKNOWN_ACCOUNT, f"balance: no balance {request.balance.owner_id}"
    if request.currency != balance.currency:
        return ErrorCode.CURRENCY_MISMATCH, f"currency: the balance is in {balance.currency}, not {request.currency}"
    if request.amount <= 0 or request.amount > MAX_AMOUNT or request.amount != request.amount.quantize(
            Decimal("0.01")):
        return ErrorCode.INVALID_AMOUNT, f"amount: {request.amount} is not a positive amount in cents up to {MAX_AMOUNT}"
    return None
