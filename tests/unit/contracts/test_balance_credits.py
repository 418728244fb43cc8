"""`billing.internal.balance-credits.v1`: a credit note settled to a prepaid balance (internal)."""

import json

import pytest

from shared.contracts import BalanceCredit, decode, encode
from shared.topics import BALANCE_CREDITS

TOPIC = BALANCE_CREDITS.name
CREDIT = {"credit_id": "7c1d0000-0000-4000-8000-000000000001", "number": "CN-2026-000001",
          "corrects_invoice_id": "5b0c2f0e-0000-4000-8000-000000000042", "balance": {"partner_id": "acmePA"},
          "partner_id": "acmePA", "client_id": None, "billing_model": "partner_paid", "currency": "EUR",
          "amount": "11.90", "issued_at": "2026-11-20T10:00:00Z"}


def test_a_balance_credit_round_trips_with_its_exact_amount() -> None:
    """What invoicing writes is what balance reads, amount as the same string."""
    credit = decode(TOPIC, json.dumps(CREDIT).encode())
    assert isinstance(credit, BalanceCredit) and credit.balance.owner_id == "acmePA"
    assert json.loads(encode(credit)) == CREDIT


@pytest.mark.parametrize(("change", "message"), [
    ({"amount": "0.00"}, "amount: Amount must be positive"),
    ({"amount": "-11.90"}, "amount: Amount must be positive"),
    ({"number": "INV-2026-000001"}, "number: String should match pattern"),
    ({"balance": {}}, "balance: exactly one of partner_id and channel_id must be given"),
])
def test_a_credit_that_credits_nothing_or_names_no_credit_note_is_schema_invalid(schema_invalid, change,
                                                                                  message) -> None:
    """A credit gives money back (positive), under a CN- number, to exactly one balance."""
    assert schema_invalid(TOPIC, {**CREDIT, **change}).startswith(message)
