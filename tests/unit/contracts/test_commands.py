"""`billing.commands.v1` (CONTRACT.md §3.5)."""

import json

import pytest

from shared.contracts import InvoiceCredit, MonthClose, decode, encode
from shared.topics import COMMANDS

TOPIC = COMMANDS.name

# The example of CONTRACT.md §3.5, verbatim.
EXAMPLE = """{"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}"""
CREDIT = """{"type": "invoice.credit", "command_id": "cred-77", "invoice_id": "5b0c2f0e-…",
 "lines": [{"line": 2, "amount": "25.00"}], "reason": "licence billed twice",
 "settle": "credit_balance"}"""


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.5 example decodes to MonthClose and encodes back to the same JSON."""
    command = decode(TOPIC, EXAMPLE.encode())
    assert isinstance(command, MonthClose) and command.month == "2026-10"
    assert encode(command) == b'{"type":"month.close","command_id":"close-2026-10","month":"2026-10"}'


def test_unknown_fields_are_accepted_and_kept() -> None:
    """An operator note or a future option survives a round trip."""
    value = {**json.loads(EXAMPLE), "requested_by": "ops@example.com"}
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "October", 202610])
def test_month_that_is_not_a_valid_yyyy_mm_is_schema_invalid(schema_invalid, month) -> None:
    """Month 13 and other spellings are refused."""
    value = {**json.loads(EXAMPLE), "month": month}
    assert schema_invalid(TOPIC, value).startswith("month: ")


@pytest.mark.parametrize("field", ["command_id", "month"])
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, field) -> None:
    """A month.close needs its id and month."""
    value = json.loads(EXAMPLE)
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"


def test_unknown_command_type_is_schema_invalid_listing_the_known_ones(schema_invalid) -> None:
    """month.close and, since 1.1, invoice.credit exist."""
    value = {**json.loads(EXAMPLE), "type": "month.reopen"}
    assert schema_invalid(TOPIC, value) == "type: Input should be one of 'month.close', 'invoice.credit'"


def test_credit_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.5 invoice.credit example decodes to InvoiceCredit and encodes back to the same JSON."""
    command = decode(TOPIC, CREDIT.encode())
    assert isinstance(command, InvoiceCredit) and command.lines is not None and command.lines[0].line == 2
    assert json.loads(encode(command)) == json.loads(CREDIT)


def test_a_credit_without_lines_credits_everything_and_is_written_without_them() -> None:
    """Absent (or null) lines mean every line in full; they are left out again on output."""
    value = {k: v for k, v in json.loads(CREDIT).items() if k != "lines"}
    for given in (value, {**value, "lines": None}):
        command = decode(TOPIC, json.dumps(given).encode())
        assert isinstance(command, InvoiceCredit) and command.lines is None
        assert json.loads(encode(command)) == value


@pytest.mark.parametrize(("lines", "message"), [
    ([{"line": 0, "amount": "0.00"}], "lines.0.amount: Amount must be positive"),
    ([{"line": 0, "amount": "-5.00"}], "lines.0.amount: Amount must be positive"),
    ([{"line": 0, "amount": "1.001"}], "lines.0.amount: Amount must have at most 2 decimal places"),
    ([{"line": 0, "amount": 5}], "lines.0.amount: Amount must be a JSON string"),
    ([{"line": -1, "amount": "5.00"}], "lines.0.line: Input should be greater than or equal to 0"),
    ([{"line": "1", "amount": "5.00"}], "lines.0.line: Input should be a valid integer"),
    ([], "lines: List should have at least 1 item"),
    ([{"line": 1, "amount": "5.00"}, {"line": 1, "amount": "2.00"}], "lines: each line may be named once"),
])
def test_credit_lines_are_positions_with_positive_amounts_in_cents(schema_invalid, lines, message) -> None:
    """Each line is named once, by its 0-based position, with a positive amount of at most 2 decimals."""
    value = {**json.loads(CREDIT), "lines": lines}
    assert schema_invalid(TOPIC, value).startswith(message)


@pytest.mark.parametrize(("change", "prefix"), [
    ({"settle": "refund"}, "settle: "), ({"reason": ""}, "reason: "), ({"reason": "   "}, "reason: "),
    ({"invoice_id": ""}, "invoice_id: "),
])
def test_credit_fields_outside_their_allowed_set_are_schema_invalid(schema_invalid, change, prefix) -> None:
    """settle is credit_balance or payable; a reason and an invoice are required and not empty."""
    assert schema_invalid(TOPIC, {**json.loads(CREDIT), **change}).startswith(prefix)


@pytest.mark.parametrize("field", ["command_id", "invoice_id", "reason", "settle"])
def test_credit_missing_a_required_field_is_schema_invalid_naming_it(schema_invalid, field) -> None:
    """An invoice.credit needs its id, the invoice, a reason and how it is settled."""
    value = json.loads(CREDIT)
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"


def test_command_without_type_is_schema_invalid(schema_invalid) -> None:
    """The type is what tells commands apart."""
    assert schema_invalid(TOPIC, {"command_id": "c", "month": "2026-10"}) == "type: Field required"
