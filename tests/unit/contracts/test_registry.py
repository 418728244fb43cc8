"""decode/encode and the topic → contract registry."""

import json

import pytest

from shared import topics
from shared.contracts import (
    ADAPTERS,
    ContractViolation,
    DeadLetter,
    ErrorCode,
    MessageStatus,
    MonthClose,
    adapter_for,
    decode,
    encode,
)

TOPIC = topics.COMMANDS.name
VALID = b'{"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}'


def test_every_topic_and_every_dlq_has_a_contract() -> None:
    """Each topic of §2, the internal priced-usage topic and each .dlq twin are registered."""
    every = {t.name for t in topics.ALL_TOPICS}
    dlqs = {t.dlq for t in topics.ALL_TOPICS if t.has_dlq}
    assert set(ADAPTERS) == every | dlqs


def test_every_dlq_topic_carries_dead_letters() -> None:
    """A .dlq topic holds DeadLetter values whatever the source topic carries."""
    for topic in topics.INPUT_TOPICS:
        assert adapter_for(topic.dlq).core_schema == adapter_for(topics.MESSAGE_STATUS.dlq).core_schema
    assert adapter_for(topics.PAYMENTS.dlq).json_schema()["title"] == DeadLetter.__name__


def test_topic_without_contract_raises_key_error() -> None:
    """Decoding an unregistered topic is a programming error, not a dead letter."""
    with pytest.raises(KeyError, match="no.such.topic.v1"):
        decode("no.such.topic.v1", VALID)


@pytest.mark.parametrize(
    "value",
    [b"not json", b"{", b'{"type": "month.close",}', b"[]", b'[{"type": "month.close"}]', b"42", b'"text"',
     b"null", b"true", b"", b"   ", b"\xef\xbb\xbf{}", VALID + b" []"],
)
def test_value_that_is_not_a_json_object_is_malformed_json(refuse, value: bytes) -> None:
    """Invalid JSON, arrays, scalars, null, empty values and trailing data are malformed_json."""
    assert refuse(TOPIC, value).code is ErrorCode.MALFORMED_JSON


def test_null_record_value_is_malformed_json(refuse) -> None:
    """A tombstone (no value at all) is refused like an empty value."""
    assert refuse(TOPIC, None).code is ErrorCode.MALFORMED_JSON


@pytest.mark.parametrize(
    "value",
    [b'{"type": "month.close", "command_id": "c\xff", "month": "2026-10"}', b"\xff{}", b'{"a": "\xed\xa0\x80"}'],
)
def test_invalid_utf8_is_malformed_json(refuse, value: bytes) -> None:
    """Values must be UTF-8, including inside strings (no lone surrogates)."""
    violation = refuse(TOPIC, value)
    assert violation.code is ErrorCode.MALFORMED_JSON
    assert "UTF-8" in violation.message


def test_value_over_max_bytes_is_too_large_before_any_parsing(refuse) -> None:
    """The size limit is checked first: even garbage over the limit is too_large."""
    violation = refuse(TOPIC, b"\xff" * (64 * 1024 + 1))
    assert violation.code is ErrorCode.TOO_LARGE
    assert violation.message == "value is 65537 bytes, the limit is 65536"


def test_value_exactly_at_max_bytes_is_accepted() -> None:
    """The limit is inclusive."""
    padded = VALID[:-1] + b" " * (100 - len(VALID)) + b"}"
    assert isinstance(decode(TOPIC, padded, max_bytes=100), MonthClose)
    with pytest.raises(ContractViolation) as caught:
        decode(TOPIC, padded + b" ", max_bytes=100)
    assert caught.value.code is ErrorCode.TOO_LARGE


def test_schema_invalid_message_joins_at_most_three_errors() -> None:
    """Many errors are summarised as the first three, separated by "; "."""
    value = {"channel_id": "", "received_at": 5, "status": {}}
    with pytest.raises(ContractViolation) as caught:
        decode(topics.MESSAGE_STATUS.name, json.dumps(value).encode())
    assert caught.value.code is ErrorCode.SCHEMA_INVALID
    assert caught.value.message.count("; ") == 2
    assert caught.value.message.startswith("channel_id: String should have at least 1 character; received_at: ")


def test_contract_violation_carries_code_and_message() -> None:
    """Services turn a ContractViolation straight into a DeadLetter."""
    violation = ContractViolation(ErrorCode.SCHEMA_INVALID, "month: Field required")
    assert (violation.code, violation.message) == (ErrorCode.SCHEMA_INVALID, "month: Field required")
    assert str(violation) == "schema_invalid: month: Field required"


def test_schema_invalid_does_not_chain_the_validation_error() -> None:
    """The pydantic error (which repeats the input, phone numbers included) is not shown in tracebacks."""
    with pytest.raises(ContractViolation) as caught:
        decode(topics.MESSAGE_STATUS.name, b'{"channel_id": "x"}')
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_encode_writes_compact_json_with_unknown_fields_kept() -> None:
    """encode is the inverse of decode: compact, extras included, nothing added."""
    raw = b'{"type":"month.close","command_id":"close-2026-10","month":"2026-10","requested_by":{"who":"ops"}}'
    assert encode(decode(TOPIC, raw)) == raw


def test_decode_returns_the_model_of_the_topic_and_encode_writes_absent_optionals_as_null() -> None:
    """The decoded value is the topic's model; re-encoding spells out optional fields as null."""
    raw = (
        b'{"channel_id":"acmeCH0001","received_at":"2026-10-20T10:15:02Z","status":{"id":"wamid.1",'
        b'"status":"read","timestamp":"1792577700","recipient_id":"4915112345678"}}'
    )
    message = decode(topics.MESSAGE_STATUS.name, raw)
    assert isinstance(message, MessageStatus)
    expected = {**json.loads(raw), "waba_id": None, "phone_number_id": None}
    expected["status"].update(conversation=None, pricing=None)
    assert json.loads(encode(message)) == expected


def test_a_document_record_larger_than_the_usual_limit_is_read_up_to_its_topics_own_limit():
    """An invoice document of 1 MB decodes although readers refuse other values above 64 KiB."""
    import base64

    content = b"%PDF" + b"x" * 1_000_000
    value = json.dumps({"invoice_id": "5b0c2f0e", "number": "INV-2026-000042", "partner_id": "acmePA",
                        "recipient_id": "acmePA", "format": "pdf", "media_type": "application/pdf",
                        "filename": "INV-2026-000042.pdf", "sha256": "0" * 64, "size": len(content),
                        "issued_at": "2026-11-01T00:00:07Z",
                        "content_base64": base64.b64encode(content).decode()}).encode()
    assert decode(topics.INVOICE_DOCUMENTS.name, value, max_bytes=64 * 1024).content == content
