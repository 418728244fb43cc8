"""`wa.message-status.v1` (CONTRACT.md §3.1)."""

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts import ContractViolation, MessageStatus, decode, encode
from shared.topics import MESSAGE_STATUS

TOPIC = MESSAGE_STATUS.name
PHONE = "4915112345678"

# The example of CONTRACT.md §3.1, verbatim.
EXAMPLE = """
{
  "channel_id": "acmeCH0001",
  "waba_id": "102290129340398",
  "phone_number_id": "106540352242922",
  "received_at": "2026-10-20T10:15:02Z",
  "status": {
    "id": "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBMDQ=",
    "status": "delivered",
    "timestamp": "1792577700",
    "recipient_id": "4915112345678",
    "conversation": {"id": "72b14d6bd5407799e66f64d1b338e567",
                     "origin": {"type": "marketing"}},
    "pricing": {"billable": true, "pricing_model": "PMP",
                "type": "regular", "category": "marketing"}
  }
}
"""


def example() -> dict[str, Any]:
    return copy.deepcopy(json.loads(EXAMPLE))


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.1 example decodes to a MessageStatus and encodes back to the same JSON."""
    message = decode(TOPIC, EXAMPLE.encode())
    assert isinstance(message, MessageStatus)
    assert message.status.pricing is not None and message.status.pricing.category == "marketing"
    assert message.received_at == datetime(2026, 10, 20, 10, 15, 2, tzinfo=UTC)
    assert json.loads(encode(message)) == json.loads(EXAMPLE)
    assert b'"received_at":"2026-10-20T10:15:02Z"' in encode(message)


def test_status_timestamp_converts_to_utc() -> None:
    """The UNIX-seconds string of Meta is available as a UTC datetime."""
    message = decode(TOPIC, EXAMPLE.encode())
    assert isinstance(message, MessageStatus)
    assert message.status.timestamp_utc == datetime(2026, 10, 21, 10, 15, tzinfo=UTC)


def test_status_without_pricing_conversation_or_meta_ids_is_accepted() -> None:
    """A bare `sent` status without pricing, conversation, waba_id or phone_number_id is valid."""
    value = example()
    for name in ("waba_id", "phone_number_id"):
        del value[name]
    value["status"] = {"id": "wamid.X", "status": "sent", "timestamp": "1792577700", "recipient_id": PHONE}
    message = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(message, MessageStatus)
    assert message.status.pricing is None and message.waba_id is None


def test_pricing_without_type_is_accepted() -> None:
    """`pricing.type` is optional (`billable: false` without a type is free, §4.1)."""
    value = example()
    value["status"]["pricing"] = {"billable": False, "pricing_model": "CBP", "category": "service"}
    message = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(message, MessageStatus)
    assert message.status.pricing is not None and message.status.pricing.type is None


def test_unknown_fields_top_level_and_nested_are_accepted_and_kept() -> None:
    """Meta's `errors` on a failed status and any new field survive decode and encode."""
    value = example()
    value["platform_trace"] = "abc"
    value["status"]["status"] = "failed"
    value["status"]["errors"] = [{"code": 131047, "title": "Re-engagement message"}]
    value["status"]["pricing"]["new_flag"] = True
    value["status"]["conversation"]["expiration_timestamp"] = "1792664100"
    message = decode(TOPIC, json.dumps(value).encode())
    assert json.loads(encode(message)) == value


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("channel_id",), "channel_id: Field required"),
        (("received_at",), "received_at: Field required"),
        (("status",), "status: Field required"),
        (("status", "id"), "status.id: Field required"),
        (("status", "status"), "status.status: Field required"),
        (("status", "timestamp"), "status.timestamp: Field required"),
        (("status", "recipient_id"), "status.recipient_id: Field required"),
        (("status", "pricing", "pricing_model"), "status.pricing.pricing_model: Field required"),
        (("status", "pricing", "category"), "status.pricing.category: Field required"),
        (("status", "conversation", "id"), "status.conversation.id: Field required"),
    ],
)
def test_missing_required_field_is_schema_invalid_naming_its_path(schema_invalid, path, expected) -> None:
    """Each required field, when missing, is named by its dotted path."""
    value = example()
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    assert schema_invalid(TOPIC, value) == expected


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("status", "status"), "deleted"),
        (("status", "pricing", "type"), "paid"),
        (("status", "pricing", "category"), ""),
        (("status", "pricing", "category"), "x" * 65),
        (("status", "recipient_type"), "broadcast"),
        (("status", "pricing", "pricing_model"), "pmp"),
        (("status", "pricing", "billable"), "true"),
        (("status", "timestamp"), 1792577700),
        (("status", "timestamp"), "2026-10-20T10:15:00Z"),
        (("status", "recipient_id"), "+4915112345678"),
        (("status", "recipient_id"), "1234"),
        (("received_at",), "2026-10-20T10:15:02"),
        (("channel_id",), ""),
    ],
)
def test_value_outside_its_allowed_set_is_schema_invalid(schema_invalid, path, bad) -> None:
    """Statuses, pricing types, categories, models and malformed scalars are refused."""
    value = example()
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = bad
    assert schema_invalid(TOPIC, value).startswith(".".join(path) + ": ")


def test_recipient_phone_number_does_not_appear_in_repr_or_str() -> None:
    """The recipient's number is personal data and must never reach a log line through repr/str."""
    value = example()
    value["status"]["recipient_identity_key_hash"] = PHONE  # an unknown field that could be personal
    message = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(message, MessageStatus)
    for text in (repr(message), str(message), repr(message.status), str(message.status)):
        assert PHONE not in text
    assert message.status.recipient_id == PHONE


# A marketing template to a WhatsApp group, one participant's status, shaped as Meta's status-webhook
# reference of 2026 shows it: no `conversation`, no `billable`, Meta's newer fields along.
GROUP = """
{
  "channel_id": "acmeCH0001",
  "waba_id": "102290129340398",
  "phone_number_id": "106540352242922",
  "received_at": "2026-10-20T10:15:02Z",
  "status": {
    "id": "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBMDQ=",
    "status": "read",
    "timestamp": "1792577700",
    "recipient_type": "group",
    "recipient_id": "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyODM4MjAZD",
    "recipient_participant_id": "4915112345678",
    "recipient_identity_key_hash": "DF2lS5v2W6x=",
    "biz_opaque_callback_data": "order-42",
    "pricing": {"pricing_model": "PMP", "type": "regular", "category": "group_marketing"}
  }
}
"""


def test_a_group_participant_status_of_2026_is_accepted_and_kept_as_it_came() -> None:
    """`recipient_type: group`, a group id, the participant's number, no `billable`: accepted, re-encoded
    as it came (an absent conversation spelt out as null), and the market's number is the participant's."""
    message = decode(TOPIC, GROUP.encode())
    assert isinstance(message, MessageStatus)
    assert message.status.is_group and message.status.recipient_number == PHONE
    assert message.status.pricing is not None and message.status.pricing.billable is None
    expected = json.loads(GROUP)
    expected["status"]["conversation"] = None
    assert json.loads(encode(message)) == expected
    for text in (repr(message), str(message.status)):
        assert PHONE not in text and "Y2FwaV9ncm91" not in text


def test_a_group_status_without_its_participant_is_schema_invalid() -> None:
    """In a group the participant is the billed unit: a status that does not name one is refused."""
    value = json.loads(GROUP)
    del value["status"]["recipient_participant_id"]
    with pytest.raises(ContractViolation) as caught:
        decode(TOPIC, json.dumps(value).encode())
    assert caught.value.message == "status.recipient_participant_id: Field required when recipient_type is group"


@pytest.mark.parametrize("participant", ["+4915112345678", "1234", "group-7"])
def test_a_participant_that_is_not_a_phone_number_is_schema_invalid(schema_invalid, participant) -> None:
    """The participant's number is E.164 without `+`, as a 1:1 recipient's is; the value is not echoed."""
    value = json.loads(GROUP)
    value["status"]["recipient_participant_id"] = participant
    message = schema_invalid(TOPIC, value)
    assert message.startswith("status.recipient_participant_id: ") and participant not in message


def test_a_group_id_is_no_number_but_a_one_to_one_recipient_must_be() -> None:
    """`recipient_id` is a group id only in a group; `individual` (or no type) wants a phone number."""
    value = json.loads(GROUP)
    value["status"]["recipient_type"] = "individual"
    with pytest.raises(ContractViolation) as caught:
        decode(TOPIC, json.dumps(value).encode())
    assert caught.value.message.startswith("status.recipient_id: must be a phone number")


def test_played_and_any_category_are_accepted() -> None:
    """`played` (a voice message) and a category Meta announced after this code was written."""
    value = example()
    value["status"]["status"] = "played"
    value["status"]["pricing"]["category"] = "general_purpose_ai"
    message = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(message, MessageStatus)
    assert message.status.status == "played" and message.status.pricing is not None
    assert message.status.pricing.category == "general_purpose_ai"


def test_schema_invalid_message_does_not_echo_the_phone_number(schema_invalid) -> None:
    """The dead-letter message names fields, never input values."""
    value = example()
    value["status"]["recipient_id"] = PHONE + "x"
    del value["status"]["timestamp"]
    assert PHONE not in schema_invalid(TOPIC, value)
