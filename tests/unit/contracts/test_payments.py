"""`billing.payments.v1` (CONTRACT.md §3.4)."""

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import Account, PaymentSucceeded, RefundSucceeded, decode, encode
from shared.topics import PAYMENTS

TOPIC = PAYMENTS.name

# The examples of CONTRACT.md §3.4, verbatim.
CARD_PAYMENT = """{"type": "payment.succeeded", "payment_id": "pay_7Hq2", "account": {"partner_id": "acmePA"},
 "amount": "100.00", "currency": "EUR", "method": "card",
 "paid_at": "2026-10-18T08:00:00Z", "topup_request_id": null}"""
TOPUP_PAYMENT = """{"type": "payment.succeeded", "payment_id": "pay_9Zk1", "account": {"channel_id": "globexCH0007"},
 "amount": "50.00", "currency": "USD", "method": "bank_transfer",
 "paid_at": "2026-10-18T08:00:00Z", "topup_request_id": "tr_3c9e..."}"""
REFUND = """{"type": "refund.succeeded", "refund_id": "ref_11", "account": {"partner_id": "acmePA"},
 "amount": "30.00", "currency": "EUR", "refunded_at": "2026-10-28T08:00:00Z"}"""


def value_of(text: str, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    value.update(changes)
    return value


@pytest.mark.parametrize(
    ("text", "model"), [(CARD_PAYMENT, PaymentSucceeded), (TOPUP_PAYMENT, PaymentSucceeded), (REFUND, RefundSucceeded)]
)
def test_contract_example_parses_to_its_type_and_serialises_back_unchanged(text: str, model: type) -> None:
    """Each §3.4 example decodes by `type` and encodes back to the same JSON, account shape included."""
    event = decode(TOPIC, text.encode())
    assert type(event) is model
    assert json.loads(encode(event)) == json.loads(text)


def test_account_owner_id_is_whichever_id_is_set() -> None:
    """owner_id is the Kafka key of payments and balance events."""
    assert Account(partner_id="acmePA").owner_id == "acmePA"
    assert Account(channel_id="globexCH0007").owner_id == "globexCH0007"


def test_account_is_written_without_the_absent_id() -> None:
    """An account serialises as {"partner_id": ...} alone, as the contract shows it, not with a null twin."""
    assert encode(Account(partner_id="acmePA")) == b'{"partner_id":"acmePA"}'
    assert encode(Account(channel_id="globexCH0007")) == b'{"channel_id":"globexCH0007"}'


@pytest.mark.parametrize(
    "account",
    [{"partner_id": "acmePA", "channel_id": "acmeCH0001"}, {}, {"partner_id": None, "channel_id": None},
     {"client_id": "bobCL"}],
)
def test_account_with_both_ids_or_neither_is_schema_invalid(schema_invalid, account) -> None:
    """Exactly one of partner_id and channel_id names a balance."""
    message = schema_invalid(TOPIC, value_of(CARD_PAYMENT, account=account))
    assert message == "account: exactly one of partner_id and channel_id must be given"


def test_account_with_both_ids_is_refused_from_python_too() -> None:
    """Services building an Account get the same rule."""
    with pytest.raises(ValidationError):
        Account(partner_id="acmePA", channel_id="acmeCH0001")


def test_account_with_one_id_and_a_null_other_is_accepted() -> None:
    """An explicit null for the other id is the same as leaving it out."""
    value = value_of(CARD_PAYMENT, account={"partner_id": "acmePA", "channel_id": None})
    event = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(event, PaymentSucceeded) and event.account.owner_id == "acmePA"


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_zero_and_negative_amounts_are_well_formed_and_left_to_the_balance_service(amount: str) -> None:
    """A non-positive amount is a business rejection (`invalid_amount`), not a schema error."""
    event = decode(TOPIC, json.dumps(value_of(CARD_PAYMENT, amount=amount)).encode())
    assert isinstance(event, PaymentSucceeded) and event.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "field", "bad"),
    [
        (CARD_PAYMENT, "amount", 100.0),
        (CARD_PAYMENT, "amount", 100),
        (CARD_PAYMENT, "amount", "1e2"),
        (CARD_PAYMENT, "method", "paypal"),
        (CARD_PAYMENT, "currency", "eur"),
        (CARD_PAYMENT, "paid_at", "2026-10-18T08:00:00"),
        (CARD_PAYMENT, "topup_request_id", ""),
        (REFUND, "amount", 30),
        (REFUND, "currency", "GBP"),
    ],
)
def test_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, text, field, bad) -> None:
    """Numeric amounts, unknown methods and currencies, naive times are refused, naming the field."""
    assert schema_invalid(TOPIC, value_of(text, **{field: bad})).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("text", "field"),
    [(CARD_PAYMENT, "payment_id"), (CARD_PAYMENT, "account"), (CARD_PAYMENT, "amount"), (CARD_PAYMENT, "currency"),
     (CARD_PAYMENT, "method"), (CARD_PAYMENT, "paid_at"), (REFUND, "refund_id"), (REFUND, "refunded_at")],
)
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, text, field) -> None:
    """Every field but topup_request_id is required."""
    value = value_of(text)
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"


def test_topup_request_id_may_be_left_out() -> None:
    """topup_request_id is optional as well as nullable."""
    value = value_of(CARD_PAYMENT)
    del value["topup_request_id"]
    event = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(event, PaymentSucceeded) and event.topup_request_id is None


@pytest.mark.parametrize("bad_type", ["payment.failed", None])
def test_unknown_or_missing_type_is_schema_invalid(schema_invalid, bad_type) -> None:
    """A payment event must be one of the two types of §3.4."""
    value = value_of(REFUND, type=bad_type) if bad_type else {k: v for k, v in value_of(REFUND).items() if k != "type"}
    assert schema_invalid(TOPIC, value).startswith("type: ")


def test_unknown_fields_top_level_and_nested_are_accepted_and_kept() -> None:
    """Provider fields added later survive a round trip, in the account too."""
    value = value_of(REFUND, reason="customer request")
    value["account"]["provider_customer"] = "cus_1"
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value
