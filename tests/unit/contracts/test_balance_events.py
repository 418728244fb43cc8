"""`billing.balance-events.v1` (CONTRACT.md §3.6)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.contracts import (
    Account,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    ContractModel,
    TopupRequested,
    decode,
    encode,
)
from shared.topics import BALANCE_EVENTS

TOPIC = BALANCE_EVENTS.name

# The example of CONTRACT.md §3.6, verbatim.
EXAMPLE = """{"type": "balance.depleted", "event_id": "…", "balance": {"partner_id": "acmePA"},
 "balance_amount": "-0.1131", "currency": "EUR", "at": "2026-10-20T10:15:02Z",
 "channel_ids": ["acmeCH0001", "acmeCH0002"]}"""

COMMON: dict[str, Any] = {
    "event_id": "evt-1",
    "balance": Account(channel_id="globexCH0007"),
    "balance_amount": Decimal("9.50"),
    "currency": "USD",
    "at": datetime(2026, 10, 20, 10, 15, 2, tzinfo=UTC),
}


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.6 example decodes to BalanceDepleted and encodes back to the same JSON."""
    event = decode(TOPIC, EXAMPLE.encode("utf-8"))
    assert isinstance(event, BalanceDepleted)
    assert event.balance_amount == Decimal("-0.1131") and event.balance.owner_id == "acmePA"
    assert json.loads(encode(event)) == json.loads(EXAMPLE)


@pytest.mark.parametrize(
    "event",
    [
        BalanceLow(type="balance.low", threshold=Decimal("10.00"), **COMMON),
        TopupRequested(type="topup.requested", request_id="tr_1", amount=Decimal("50.00"), **COMMON),
        BalanceDepleted(type="balance.depleted", channel_ids=["globexCH0007"], **COMMON),
        BalanceRestored(type="balance.restored", channel_ids=["globexCH0007"], **COMMON),
    ],
)
def test_every_balance_event_built_by_the_service_round_trips_with_type_first(event: ContractModel) -> None:
    """What balance publishes decodes to the same event; `type` leads, amounts are strings, times end in Z."""
    raw = encode(event)
    assert raw.startswith(b'{"type":"')
    assert b'"balance_amount":"9.50"' in raw and b'"at":"2026-10-20T10:15:02Z"' in raw
    assert b'"balance":{"channel_id":"globexCH0007"}' in raw
    assert decode(TOPIC, raw) == event


@pytest.mark.parametrize("field", ["event_id", "balance", "balance_amount", "currency", "at", "channel_ids"])
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, field) -> None:
    """Every balance event carries the common fields and its own extra ones."""
    value = json.loads(EXAMPLE)
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"


@pytest.mark.parametrize(
    ("field", "bad"),
    [("type", "balance.empty"), ("balance_amount", -0.1131), ("currency", "CHF"),
     ("balance", {"partner_id": "acmePA", "channel_id": "acmeCH0001"}), ("channel_ids", "acmeCH0001")],
)
def test_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, field, bad) -> None:
    """Unknown types, numeric amounts, other currencies and double-owned balances are refused."""
    value = {**json.loads(EXAMPLE), field: bad}
    assert schema_invalid(TOPIC, value).startswith(f"{field}")


def test_unknown_fields_are_accepted_and_kept() -> None:
    """Readers of balance events accept fields added later."""
    value = {**json.loads(EXAMPLE), "reason": "usage"}
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value
