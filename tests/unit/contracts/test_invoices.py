"""`billing.invoices.v1` (CONTRACT.md §3.7)."""

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from shared.contracts import Invoice, decode, encode
from shared.topics import INVOICES

TOPIC = INVOICES.name

# The example of CONTRACT.md §3.7, verbatim.
EXAMPLE = """{"invoice_id": "5b0c2f0e-…", "number": "INV-2026-000042",
 "kind": "subscription", "billing_model": "partner_paid",
 "recipient": {"type": "partner", "id": "acmePA", "name": "Acme Messaging GmbH",
               "country": "DE", "vat_id": "DE123456789"},
 "partner_id": "acmePA", "client_id": null, "channel_id": null,
 "period": "2026-11", "issued_at": "2026-11-01T00:00:07Z", "currency": "EUR",
 "lines": [
   {"code": "partner_plan", "description": "Partner plan Growth, 2026-11",
    "quantity": "1", "unit_price": "500.00", "amount": "500.00",
    "service_month": "2026-11", "client_id": null, "channel_id": null},
   {"code": "license", "description": "License regular, acmeCH0001, 2026-11",
    "quantity": "1", "unit_price": "25.00", "amount": "25.00",
    "service_month": "2026-11", "client_id": "bobCL", "channel_id": "acmeCH0001"}
 ],
 "subtotal": "525.00",
 "tax": {"treatment": "standard", "rate": "0.19", "amount": "99.75"},
 "total": "624.75",
 "summary": null}"""

# The month_closing invoice of the worked example (CONTRACT.md §5), with a late usage line added.
MONTH_CLOSING: dict[str, Any] = {
    "invoice_id": "9d1e", "number": "INV-2026-000043", "kind": "month_closing", "billing_model": "partner_paid",
    "recipient": {"type": "partner", "id": "acmePA", "name": "Acme Messaging GmbH", "country": "DE",
                  "vat_id": "DE123456789"},
    "partner_id": "acmePA", "client_id": None, "channel_id": None,
    "period": "2026-02", "issued_at": "2026-03-01T00:00:07Z", "currency": "EUR",
    "lines": [
        {"code": "usage", "description": "Usage marketing, acmeCH0001, 2026-02", "quantity": "1",
         "unit_price": "0.1131", "amount": "0.11", "service_month": "2026-02", "client_id": "bobCL",
         "channel_id": "acmeCH0001", "category": "marketing"},
        {"code": "late_usage", "description": "Late usage utility, acmeCH0001, 2026-01", "quantity": "2",
         "unit_price": "0.0456", "amount": "0.09", "service_month": None, "client_id": "bobCL",
         "channel_id": "acmeCH0001", "category": "utility", "usage_month": "2026-01"},
        {"code": "settled_with_credit_balance", "description": "Settled with credit balance", "quantity": "1",
         "unit_price": "-0.20", "amount": "-0.20", "service_month": "2026-02", "client_id": None,
         "channel_id": None},
    ],
    "subtotal": "0.00",
    "tax": {"treatment": "standard", "rate": "0.19", "amount": "0.00"},
    "total": "0.00",
    "summary": {"starting_balance": "100.00", "added_funds": "0", "usage": "0.2043", "refunds": "0.00",
                "ending_balance": "99.7957"},
}


def example() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(EXAMPLE)
    return value


def month_closing() -> dict[str, Any]:
    return copy.deepcopy(MONTH_CLOSING)


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.7 example decodes and encodes back to the same JSON, amounts as the same strings."""
    invoice = decode(TOPIC, EXAMPLE.encode("utf-8"))
    assert isinstance(invoice, Invoice)
    assert invoice.total == Decimal("624.75") and invoice.tax.rate == Decimal("0.19")
    assert json.loads(encode(invoice)) == json.loads(EXAMPLE)
    assert b'"issued_at":"2026-11-01T00:00:07Z"' in encode(invoice)


def test_month_closing_invoice_with_summary_and_usage_lines_round_trips() -> None:
    """Usage, late usage, a negative settlement line and the summary keep their exact strings."""
    invoice = decode(TOPIC, json.dumps(MONTH_CLOSING).encode())
    assert isinstance(invoice, Invoice) and invoice.summary is not None
    assert invoice.summary.ending_balance == Decimal("99.7957")
    assert json.loads(encode(invoice)) == MONTH_CLOSING


def test_usage_line_without_category_is_schema_invalid(schema_invalid) -> None:
    """usage and late_usage lines carry their pricing category."""
    value = month_closing()
    value["lines"][0]["category"] = None
    assert schema_invalid(TOPIC, value) == "lines.0: a usage line needs a category"


def test_late_usage_line_without_usage_month_is_schema_invalid(schema_invalid) -> None:
    """late_usage lines say which month the usage happened in."""
    value = month_closing()
    del value["lines"][1]["usage_month"]
    assert schema_invalid(TOPIC, value) == "lines.1: a late_usage line needs a usage_month"


def test_null_category_and_usage_month_on_other_lines_are_accepted_and_written_as_absent() -> None:
    """Lines without a category or usage month leave the fields out, as the contract's example does."""
    value = example()
    value["lines"][0].update(category=None, usage_month=None)
    invoice = decode(TOPIC, json.dumps(value).encode())
    assert b'"category"' not in encode(invoice) and b'"usage_month"' not in encode(invoice)


def test_arithmetic_is_not_checked_by_the_model() -> None:
    """A wrong total is the invoicing service's bug to catch, not a schema error."""
    value = {**example(), "total": "1.00"}
    assert isinstance(decode(TOPIC, json.dumps(value).encode()), Invoice)


@pytest.mark.parametrize(
    ("change", "expected_prefix"),
    [
        ({"kind": "credit_note"}, "kind: "),
        ({"billing_model": "postpaid"}, "billing_model: "),
        ({"currency": "JPY"}, "currency: "),
        ({"number": "INV-2026-42"}, "number: "),
        ({"period": "2026-13"}, "period: "),
        ({"issued_at": "2026-11-01T00:00:07"}, "issued_at: "),
        ({"subtotal": 525.0}, "subtotal: "),
        ({"tax": {"treatment": "exempt", "rate": "0", "amount": "0.00"}}, "tax.treatment: "),
        ({"tax": {"treatment": "standard", "rate": "0.1900001", "amount": "0.00"}}, "tax.rate: "),
        ({"recipient": {"type": "channel", "id": "x", "name": "x", "country": "DE"}}, "recipient.type: "),
        ({"summary": {"starting_balance": "0"}}, "summary.added_funds: "),
    ],
)
def test_invoice_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, change, expected_prefix) -> None:
    """Kinds, billing models, numbers, periods, tax treatments and recipient types are checked."""
    assert schema_invalid(TOPIC, {**example(), **change}).startswith(expected_prefix)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("code", "discount"), ("category", ""), ("amount", 25), ("service_month", "2026-13"), ("quantity", "one")],
)
def test_line_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, field, bad) -> None:
    """Line codes, categories, amounts and months are checked on every line."""
    value = example()
    value["lines"][1][field] = bad
    assert schema_invalid(TOPIC, value).startswith(f"lines.1.{field}: ")


@pytest.mark.parametrize(
    "field",
    ["invoice_id", "number", "kind", "billing_model", "recipient", "partner_id", "period", "issued_at", "currency",
     "lines", "subtotal", "tax", "total"],
)
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, field) -> None:
    """Every invoice field but the nullable ids and summary is required."""
    value = example()
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"


def test_unknown_fields_top_level_and_nested_are_accepted_and_kept() -> None:
    """Accounting accepts fields added later anywhere in the invoice."""
    value = example()
    value["due_date"] = "2026-11-15"
    value["lines"][0]["sku"] = "PLAN-G"
    value["recipient"]["email"] = "billing@acme.example"
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value
