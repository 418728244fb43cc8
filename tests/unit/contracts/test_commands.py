"""`billing.commands.v1` (CONTRACT.md §3.5)."""

import json

import pytest

from shared.contracts import MonthClose, decode, encode
from shared.topics import COMMANDS

TOPIC = COMMANDS.name

# The example of CONTRACT.md §3.5, verbatim.
EXAMPLE = """{"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}"""


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
    """Only month.close exists in v1."""
    value = {**json.loads(EXAMPLE), "type": "month.reopen"}
    assert schema_invalid(TOPIC, value) == "type: Input should be one of 'month.close'"


def test_command_without_type_is_schema_invalid(schema_invalid) -> None:
    """The type is what tells commands apart."""
    assert schema_invalid(TOPIC, {"command_id": "c", "month": "2026-10"}) == "type: Field required"
