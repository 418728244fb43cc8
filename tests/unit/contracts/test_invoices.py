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


def credit_note() -> dict[str, Any]:
    """A credit note of the §3.7 example's license line, settled to the balance."""
    value = example()
    license_line = value["lines"][1]
    return {**value, "invoice_id": "7c1d", "number": "CN-2026-000001", "kind": "credit_note",
            "issued_at": "2026-11-20T10:00:00Z",
            "lines": [{**license_line, "unit_price": "10.00", "amount": "10.00"}],
            "subtotal": "10.00", "tax": {"treatment": "standard", "rate": "0.19", "amount": "1.90"}, "total": "11.90",
            "corrects": {"invoice_id": value["invoice_id"], "number": "INV-2026-000042"},
            "reason": "channel down for a week", "settle": "credit_balance"}


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
    value = month_closing()
    value["summary"]["credits"] = "12.50"
    invoice = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(invoice, Invoice) and invoice.summary is not None
    assert invoice.summary.ending_balance == Decimal("99.7957") and invoice.summary.credits == Decimal("12.50")
    assert json.loads(encode(invoice)) == value


def test_a_1_0_summary_without_credits_reads_as_no_credits_and_is_written_with_them() -> None:
    """There were no credit notes before 1.1, so a summary without `credits` had none; since 1.1 it is
    always written."""
    invoice = decode(TOPIC, json.dumps(MONTH_CLOSING).encode())
    assert invoice.summary is not None and invoice.summary.credits == Decimal("0.00")
    assert json.loads(encode(invoice))["summary"] == {**MONTH_CLOSING["summary"], "credits": "0.00"}


def test_an_ordinary_invoice_is_written_without_the_credit_note_fields() -> None:
    """`corrects`, `reason` and `settle` belong to credit notes; other invoices keep their 1.0 shape."""
    encoded = json.loads(encode(decode(TOPIC, EXAMPLE.encode())))
    assert not {"corrects", "reason", "settle"} & set(encoded)


def test_a_credit_note_round_trips_with_what_it_corrects() -> None:
    """A credit note names the invoice it corrects, why, and how it is settled."""
    value = credit_note()
    invoice = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(invoice, Invoice) and invoice.corrects is not None
    assert invoice.corrects.number == "INV-2026-000042" and invoice.settle == "credit_balance"
    assert json.loads(encode(invoice)) == value


@pytest.mark.parametrize("field", ["corrects", "reason", "settle"])
def test_a_credit_note_without_its_correction_fields_is_schema_invalid(schema_invalid, field) -> None:
    """A credit note that does not say what it corrects, why or how it is settled is refused."""
    value = credit_note()
    del value[field]
    assert schema_invalid(TOPIC, value) == "a credit_note needs corrects, reason and settle"


@pytest.mark.parametrize(("kind", "number"), [("credit_note", "INV-2026-000043"), ("subscription", "CN-2026-000001")])
def test_numbers_and_kinds_must_agree(schema_invalid, kind, number) -> None:
    """Credit notes are numbered CN-…, every other kind INV-…: two sequences that never mix."""
    value = {**credit_note(), "kind": kind, "number": number}
    assert schema_invalid(TOPIC, value) == "number: a credit_note is numbered CN-…, any other kind INV-…"


def test_a_credit_note_settled_otherwise_is_schema_invalid(schema_invalid) -> None:
    """`settle` is credit_balance or payable."""
    value = {**credit_note(), "settle": "cash"}
    assert schema_invalid(TOPIC, value).startswith("settle: ")


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
        ({"kind": "refund"}, "kind: "),
        ({"number": "CR-2026-000042"}, "number: "),
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
