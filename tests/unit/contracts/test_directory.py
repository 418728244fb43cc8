"""`billing.directory.v1` (CONTRACT.md §3.2)."""

import json
from decimal import Decimal
from typing import Any

import pytest

from shared.contracts import ChannelAdded, ChannelCancelled, ClientUpserted, PartnerUpserted, decode, encode
from shared.topics import DIRECTORY

TOPIC = DIRECTORY.name

# The examples of CONTRACT.md §3.2, verbatim.
PARTNER = """{"type": "partner.upserted", "partner_id": "acmePA", "name": "Acme Messaging GmbH",
 "billing_model": "partner_paid", "currency": "EUR", "plan": "growth",
 "created_at": "2026-09-01T00:00:00Z",
 "billing_address": {"country": "DE", "vat_id": "DE123456789"},
 "auto_renewal": {"enabled": true, "threshold": "200.00", "amount": "100.00"}}"""
CLIENT = """{"type": "client.upserted", "client_id": "bobCL", "partner_id": "acmePA",
 "name": "Bob's Bikes", "billing_address": {"country": "AT", "vat_id": null}}"""
CHANNEL_ADDED = """{"type": "channel.added", "channel_id": "acmeCH0001", "client_id": "bobCL",
 "partner_id": "acmePA", "waba_id": "102290129340398",
 "phone_number_id": "106540352242922", "phone_number": "+43123456789",
 "license": "regular", "billing_started_at": "2026-10-17T09:30:00Z",
 "auto_renewal": {"enabled": true, "threshold": "10.00", "amount": "50.00"}}"""
CHANNEL_CANCELLED = """{"type": "channel.cancelled", "channel_id": "acmeCH0001", "partner_id": "acmePA",
 "cancelled_at": "2026-11-03T12:00:00Z"}"""

EXAMPLES = [(PARTNER, PartnerUpserted), (CLIENT, ClientUpserted), (CHANNEL_ADDED, ChannelAdded),
            (CHANNEL_CANCELLED, ChannelCancelled)]


def value_of(text: str, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    value.update(changes)
    return value


@pytest.mark.parametrize(("text", "model"), EXAMPLES)
def test_contract_example_parses_to_its_type_and_serialises_back_unchanged(text: str, model: type) -> None:
    """Each §3.2 example decodes to the model named by its `type` and encodes back to the same JSON."""
    event = decode(TOPIC, text.encode())
    assert type(event) is model
    assert json.loads(encode(event)) == json.loads(text)


def test_auto_renewal_amounts_are_decimals_written_back_as_strings() -> None:
    """Thresholds and amounts are exact decimals and keep their written form."""
    event = decode(TOPIC, PARTNER.encode())
    assert isinstance(event, PartnerUpserted) and event.auto_renewal is not None
    assert event.auto_renewal.threshold == Decimal("200.00")
    assert b'"threshold":"200.00","amount":"100.00"' in encode(event)


def test_optional_fields_may_be_left_out() -> None:
    """auto_renewal, waba_id, phone_number_id, phone_number and vat_id are optional."""
    partner = value_of(PARTNER)
    del partner["auto_renewal"]
    del partner["billing_address"]["vat_id"]
    channel = value_of(CHANNEL_ADDED)
    for name in ("waba_id", "phone_number_id", "phone_number", "auto_renewal"):
        del channel[name]
    for value in (partner, channel):
        assert decode(TOPIC, json.dumps(value).encode()) is not None


def test_unknown_fields_top_level_and_nested_are_accepted_and_kept() -> None:
    """A newer Hub may add fields anywhere; they are kept through a round trip."""
    value = value_of(PARTNER, segment="enterprise")
    value["billing_address"]["city"] = "Berlin"
    value["auto_renewal"]["card_on_file"] = True
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        (PARTNER, "name", "name: Field required"),
        (PARTNER, "billing_model", "billing_model: Field required"),
        (PARTNER, "currency", "currency: Field required"),
        (PARTNER, "plan", "plan: Field required"),
        (PARTNER, "created_at", "created_at: Field required"),
        (PARTNER, "billing_address", "billing_address: Field required"),
        (CLIENT, "client_id", "client_id: Field required"),
        (CLIENT, "billing_address", "billing_address: Field required"),
        (CHANNEL_ADDED, "channel_id", "channel_id: Field required"),
        (CHANNEL_ADDED, "client_id", "client_id: Field required"),
        (CHANNEL_ADDED, "partner_id", "partner_id: Field required"),
        (CHANNEL_ADDED, "license", "license: Field required"),
        (CHANNEL_ADDED, "billing_started_at", "billing_started_at: Field required"),
        (CHANNEL_CANCELLED, "cancelled_at", "cancelled_at: Field required"),
        (CHANNEL_CANCELLED, "type", "type: Field required"),
    ],
)
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, text, field, expected) -> None:
    """The message names the missing field without the event type in front of it."""
    value = value_of(text)
    del value[field]
    assert schema_invalid(TOPIC, value) == expected


def test_missing_nested_field_is_named_by_its_dotted_path(schema_invalid) -> None:
    """A missing billing_address.country or auto_renewal.enabled is named by its full path."""
    value = value_of(PARTNER)
    del value["billing_address"]["country"]
    del value["auto_renewal"]["enabled"]
    assert schema_invalid(TOPIC, value) == (
        "billing_address.country: Field required; auto_renewal.enabled: Field required"
    )


@pytest.mark.parametrize(
    ("text", "field", "bad"),
    [
        (PARTNER, "type", "partner.deleted"),
        (PARTNER, "plan", "enterprise"),
        (PARTNER, "billing_model", "prepaid"),
        (PARTNER, "currency", "GBP"),
        (PARTNER, "created_at", "2026-09-01"),
        (CHANNEL_ADDED, "license", "basic"),
        (CHANNEL_ADDED, "billing_started_at", 1792577700),
    ],
)
def test_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, text, field, bad) -> None:
    """Plans, licenses, billing models, currencies and event types outside the contract are refused."""
    assert schema_invalid(TOPIC, value_of(text, **{field: bad})).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("nested", "expected_prefix"),
    [
        ({"billing_address": {"country": "de"}}, "billing_address.country: "),
        ({"auto_renewal": {"enabled": True, "threshold": 200, "amount": "100.00"}}, "auto_renewal.threshold: "),
        ({"auto_renewal": {"enabled": "yes", "threshold": "1", "amount": "1"}}, "auto_renewal.enabled: "),
    ],
)
def test_nested_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, nested, expected_prefix) -> None:
    """Lower-case countries, numeric amounts and non-boolean flags are refused inside nested objects."""
    assert schema_invalid(TOPIC, value_of(PARTNER, **nested)).startswith(expected_prefix)


def test_partner_ids_without_the_pa_suffix_are_accepted() -> None:
    """The PA/CL/CH suffixes are a convention, not a contract rule."""
    event = decode(TOPIC, json.dumps(value_of(PARTNER, partner_id="acme")).encode())
    assert isinstance(event, PartnerUpserted) and event.partner_id == "acme"
