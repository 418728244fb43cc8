"""Which payments and refunds a balance takes, and why it refuses the others (CONTRACT.md §3.4)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.balance.domain.crossings import Renewal
from services.balance.domain.ledger import BalanceState
from services.balance.domain.payments import MAX_AMOUNT, refusal
from shared.contracts import ErrorCode, PaymentSucceeded, RefundSucceeded

D = Decimal
AT = datetime(2026, 10, 18, 8, 0, tzinfo=UTC)
PARTNER = BalanceState("acmePA", "partner", "acmePA", None, "partner_paid", "EUR", D("100.00"),
                       Renewal(True, D("10"), D("50")), None, None, 0)
CHANNEL = BalanceState("globexCH0007", "channel", "globexPA", "initechCL", "direct_paid", "USD", D("30.00"),
                       None, None, None, 0)


def pay(amount: str, account: dict[str, str] | None = None, currency: str = "EUR") -> PaymentSucceeded:
    return PaymentSucceeded.model_validate({
        "type": "payment.succeeded", "payment_id": "pay_1", "account": account or {"partner_id": "acmePA"},
        "amount": amount, "currency": currency, "method": "card", "paid_at": "2026-10-18T08:00:00Z"})


def refund(amount: str, account: dict[str, str] | None = None, currency: str = "EUR") -> RefundSucceeded:
    return RefundSucceeded.model_validate({
        "type": "refund.succeeded", "refund_id": "ref_1", "account": account or {"partner_id": "acmePA"},
        "amount": amount, "currency": currency, "refunded_at": "2026-10-28T08:00:00Z"})


def code(why: tuple[ErrorCode, str] | None) -> Any:
    return None if why is None else why[0]


def test_a_positive_payment_in_the_balances_currency_is_taken():
    """The ordinary top-up: no refusal."""
    assert refusal(pay("100.00"), PARTNER, PARTNER.amount, None) is None
    assert refusal(pay("50.00", {"channel_id": "globexCH0007"}, "USD"), CHANNEL, CHANNEL.amount, None) is None


def test_a_payment_with_six_decimals_or_at_the_ceiling_is_taken():
    """0.000001 and exactly MAX_AMOUNT are money."""
    assert refusal(pay("0.000001"), PARTNER, PARTNER.amount, None) is None
    assert refusal(pay(str(MAX_AMOUNT)), PARTNER, PARTNER.amount, None) is None
    assert refusal(pay("12.500000000"), PARTNER, PARTNER.amount, None) is None  # trailing zeros are no decimals


def test_a_payment_for_no_balance_that_the_directory_does_not_know_is_unknown_account():
    """No balance, no model: unknown_account naming the account."""
    why = refusal(pay("10"), None, D(0), None)
    assert code(why) == ErrorCode.UNKNOWN_ACCOUNT
    assert "partner_id acmePA" in why[1]


def test_a_channel_of_a_partner_paid_partner_is_unknown_account():
    """A Partner-Paid partner's channels have no balance of their own."""
    why = refusal(pay("10", {"channel_id": "acmeCH0001"}), None, D(0), "partner_paid")
    assert code(why) == ErrorCode.UNKNOWN_ACCOUNT
    assert "channel_id acmeCH0001" in why[1] and "Partner-Paid" in why[1]


def test_a_direct_paid_partner_itself_is_unknown_account():
    """A Direct-Paid partner has no shared balance: its balances are its channels'."""
    why = refusal(pay("10", {"partner_id": "globexPA"}, "USD"), None, D(0), "direct_paid")
    assert code(why) == ErrorCode.UNKNOWN_ACCOUNT
    assert "Direct-Paid" in why[1]


def test_a_currency_other_than_the_balances_is_currency_mismatch():
    """USD into an EUR balance, for a payment and for a refund."""
    assert code(refusal(pay("10", currency="USD"), PARTNER, PARTNER.amount, None)) == ErrorCode.CURRENCY_MISMATCH
    assert code(refusal(refund("10", currency="USD"), PARTNER, PARTNER.amount, None)) == ErrorCode.CURRENCY_MISMATCH


@pytest.mark.parametrize("amount", ["0", "0.00", "-0.01", "-100.00"])
def test_a_zero_or_negative_amount_is_invalid_amount(amount):
    """Non-positive amounts, for payments and refunds alike."""
    assert code(refusal(pay(amount), PARTNER, PARTNER.amount, None)) == ErrorCode.INVALID_AMOUNT
    assert code(refusal(refund(amount), PARTNER, PARTNER.amount, None)) == ErrorCode.INVALID_AMOUNT


@pytest.mark.parametrize("amount", ["0.0000001", "10.1234567", "10000000.01", "99999999999999999999"])
def test_more_than_six_decimals_or_an_absurd_amount_is_invalid_amount(amount):
    """The ledger keeps 6 decimals; beyond MAX_AMOUNT is a typo or an attack."""
    assert code(refusal(pay(amount), PARTNER, PARTNER.amount, None)) == ErrorCode.INVALID_AMOUNT
    assert code(refusal(refund(amount), PARTNER, D("99999999999999999999"), None)) == ErrorCode.INVALID_AMOUNT


def test_a_refund_up_to_the_balance_is_taken_and_one_more_millionth_is_refused():
    """A refund never takes a balance below zero: exactly the balance is fine."""
    assert refusal(refund("100.00"), PARTNER, D("100.00"), None) is None
    why = refusal(refund("100.000001"), PARTNER, D("100.00"), None)
    assert code(why) == ErrorCode.REFUND_EXCEEDS_BALANCE


def test_a_refund_is_judged_against_what_is_available_at_its_point_of_the_batch():
    """`available`, not the balance's stored amount, decides."""
    assert refusal(refund("30"), PARTNER, D("20"), None) is not None
    assert refusal(refund("30"), PARTNER, D("130"), None) is None


def test_any_refund_from_a_balance_at_or_below_zero_is_refused():
    """A depleted balance has nothing to refund."""
    assert code(refusal(refund("0.01"), PARTNER, D("0"), None)) == ErrorCode.REFUND_EXCEEDS_BALANCE
    assert code(refusal(refund("0.01"), PARTNER, D("-5"), None)) == ErrorCode.REFUND_EXCEEDS_BALANCE


def test_a_payment_is_never_refused_for_the_balance_it_lands_on():
    """A payment into a negative balance is taken; only refunds look at the balance."""
    assert refusal(pay("1"), PARTNER, D("-500"), None) is None


def test_refusals_are_judged_in_order_account_currency_amount_then_balance():
    """The first reason wins: an unknown account is not also judged on currency or amount."""
    assert code(refusal(refund("-1", currency="USD"), None, D(0), None)) == ErrorCode.UNKNOWN_ACCOUNT
    assert code(refusal(refund("-1", currency="USD"), PARTNER, D(0), None)) == ErrorCode.CURRENCY_MISMATCH
    assert code(refusal(refund("-1"), PARTNER, D(0), None)) == ErrorCode.INVALID_AMOUNT
    assert code(refusal(refund("0.0000001"), PARTNER, D(0), None)) == ErrorCode.INVALID_AMOUNT


def test_a_refund_refused_at_two_balances_is_the_same_dead_letter():
    """Debits move a balance between a batch's first reading and its reading again after a rebalance: the
    dead letter names the refund, not the balance of the moment, so its copies are the same letter."""
    assert refusal(refund("30"), PARTNER, D("20"), None) == refusal(refund("30"), PARTNER, D("7.5"), None)
