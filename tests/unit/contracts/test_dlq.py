"""Dead letters (CONTRACT.md §3.8)."""

import json
from datetime import UTC, datetime

import pytest

from shared.contracts import DeadLetter, ErrorCode, decode, encode
from shared.topics import INPUT_TOPICS, MESSAGE_STATUS

TOPIC = MESSAGE_STATUS.dlq
FAILED_AT = datetime(2026, 10, 20, 10, 15, 3, tzinfo=UTC)

# The example of CONTRACT.md §3.8, verbatim.
EXAMPLE = """{"error": {"code": "schema_invalid", "message": "status.timestamp: field required"},
 "source": {"topic": "wa.message-status.v1", "partition": 3, "offset": 18872, "key": "acmeCH0001"},
 "payload": "<the original value, as text>", "failed_at": "2026-10-20T10:15:03Z"}"""


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.8 example decodes on every .dlq topic and encodes back to the same JSON."""
    for topic in INPUT_TOPICS:
        letter = decode(topic.dlq, EXAMPLE.encode())
        assert isinstance(letter, DeadLetter) and letter.error.code is ErrorCode.SCHEMA_INVALID
        assert json.loads(encode(letter)) == json.loads(EXAMPLE)


def test_error_codes_are_exactly_the_twelve_of_the_contract() -> None:
    """The code set is closed: services cannot invent codes (1.1 added the two of credit notes)."""
    assert {code.value for code in ErrorCode} == {
        "malformed_json", "schema_invalid", "too_large", "unknown_account", "currency_mismatch",
        "billing_model_change", "invalid_amount", "refund_exceeds_balance", "no_rate", "unknown_channel",
        "unknown_invoice", "credit_exceeds_invoice",
    }


def test_unknown_error_code_is_schema_invalid(schema_invalid) -> None:
    """A dead letter with a code outside §3.8 is refused."""
    value = json.loads(EXAMPLE)
    value["error"]["code"] = "timeout"
    assert schema_invalid(TOPIC, value).startswith("error.code: ")


@pytest.mark.parametrize(("field", "bad"), [("partition", "3"), ("offset", -1), ("offset", 1.5)])
def test_source_position_must_be_a_non_negative_integer(schema_invalid, field, bad) -> None:
    """Partition and offset locate the record; strings, negatives and fractions are refused."""
    value = json.loads(EXAMPLE)
    value["source"][field] = bad
    assert schema_invalid(TOPIC, value).startswith(f"source.{field}: ")


def test_build_keeps_an_invalid_utf8_payload_as_text_with_replacement_characters() -> None:
    """A value refused for not being UTF-8 is still kept, bad bytes as U+FFFD."""
    letter = DeadLetter.build(
        ErrorCode.MALFORMED_JSON, "value is not valid UTF-8 (byte 1)", MESSAGE_STATUS.name, 3, 18872,
        b"acme\xffCH", b'{\xff"a": 1}', FAILED_AT,
    )
    assert letter.payload == '{\ufffd"a": 1}'
    assert letter.source.key == "acme\ufffdCH"
    assert decode(TOPIC, encode(letter)) == letter


@pytest.mark.parametrize(
    ("key", "expected"), [(b"acmeCH0001", "acmeCH0001"), ("acmeCH0001", "acmeCH0001"), (None, None)]
)
def test_build_accepts_the_key_as_bytes_text_or_none(key, expected) -> None:
    """Keys come from Kafka as bytes, or may be absent."""
    letter = DeadLetter.build(ErrorCode.NO_RATE, "no rate", MESSAGE_STATUS.name, 0, 1, key, b"{}", FAILED_AT)
    assert letter.source.key == expected


def test_build_writes_the_failure_time_in_utc_with_z_and_defaults_it_to_now() -> None:
    """failed_at is RFC 3339 UTC; leaving it out stamps the current time."""
    letter = DeadLetter.build(ErrorCode.TOO_LARGE, "too big", MESSAGE_STATUS.name, 0, 1, None, None, FAILED_AT)
    assert b'"failed_at":"2026-10-20T10:15:03Z"' in encode(letter)
    assert letter.payload == ""
    before = datetime.now(UTC)
    assert DeadLetter.build(ErrorCode.TOO_LARGE, "x", MESSAGE_STATUS.name, 0, 1, None, b"{}").failed_at >= before


def test_build_writes_the_contract_shape() -> None:
    """The output has exactly the fields of §3.8, in its order."""
    letter = DeadLetter.build(
        ErrorCode.SCHEMA_INVALID, "status.timestamp: Field required", MESSAGE_STATUS.name, 3, 18872,
        b"acmeCH0001", b"{}", FAILED_AT,
    )
    assert encode(letter) == (
        b'{"error":{"code":"schema_invalid","message":"status.timestamp: Field required"},'
        b'"source":{"topic":"wa.message-status.v1","partition":3,"offset":18872,"key":"acmeCH0001"},'
        b'"payload":"{}","failed_at":"2026-10-20T10:15:03Z"}'
    )
