"""Statuses read straight from bytes (`read`) agree with the pydantic models (`decode`) on every record."""

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.contracts import ErrorCode, LightMessageStatus, MessageStatus, read
from shared.contracts.base import _to_utc_datetime
from shared.topics import MESSAGE_STATUS

from . import agreement
from .agreement import (MISSING, WRONG_TYPES, by_models, by_read, digits, encoded, fast_read_or_none, json_values,
                        objects, rfc3339_times, texts, with_value, wrong_types)

TOPIC = MESSAGE_STATUS.name
VALID = {"channel_id": "acmeCH0001", "waba_id": "102290129340398", "phone_number_id": "106540352242922",
         "received_at": "2026-10-20T10:15:02Z",
         "status": {"id": "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBMDQ=", "status": "delivered",
                    "timestamp": "1792577700", "recipient_id": "4915112345678",
                    "conversation": {"id": "72b14d6bd5407799e66f64d1b338e567", "origin": {"type": "marketing"}},
                    "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular",
                                "category": "marketing"}}}


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent, null, or drawn from `values`."""
    return st.just(MISSING) | st.none() | values


numbers = digits(5, 20)
not_numbers = digits(0, 4) | digits(21, 22) | st.sampled_from(
    ["4915112345678\n", "+4915112345678", "٤٩١٥١١٢٣٤٥٦٧٨", "49151 1234"]) | wrong_types
pricings = objects({
    "billable": (optional(st.booleans()), st.sampled_from(["true", 1, 0])),
    "pricing_model": (st.sampled_from(["PMP", "CBP"]), st.sampled_from(["pmp", MISSING]) | wrong_types),
    "category": (texts("marketing", "authentication-international", max_size=64),
                 st.text(min_size=65) | st.just("")),
    "type": (optional(st.sampled_from(["regular", "free_customer_service", "free_entry_point",
                                       "free_group_customer_service"])), st.sampled_from(["free", 1])),
})
conversations = objects({
    "id": (texts("72b14d6bd5407799e66f64d1b338e567", max_size=256).filter(len),
           st.text(min_size=257) | st.just("")),
    "origin": (optional(st.fixed_dictionaries({"type": texts("marketing", max_size=64).filter(len)})),
               st.just({"type": ""}) | st.just({}) | wrong_types),
})
inner = objects({
    "id": (texts("wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBMDQ=", max_size=256).filter(len),
           st.text(min_size=257) | st.sampled_from(["", MISSING]) | wrong_types),
    "status": (st.sampled_from(["sent", "delivered", "read", "played", "failed"]),
               st.sampled_from(["deleted", MISSING])),
    "timestamp": (digits(1, 11), digits(12, 13) | wrong_types
                  | st.sampled_from(["", "1792577700\n", "-1", "١٧٩٢٥٧٧٧٠٠", MISSING])),
    "recipient_type": (optional(st.just("individual")), st.just("Group") | wrong_types),
    "recipient_id": (numbers, not_numbers | st.just(MISSING)),
    "recipient_participant_id": (optional(numbers), not_numbers),
    "conversation": (optional(conversations), wrong_types),
    "pricing": (optional(pricings), wrong_types),
})
groups = objects({  # a group: its id is Meta's token, the participant a number
    "id": (st.just("wamid.G1"), None),
    "status": (st.sampled_from(["sent", "delivered", "read"]), None),
    "timestamp": (digits(1, 11), None),
    "recipient_type": (st.just("group"), None),
    "recipient_id": (texts("120363040000000000@g.us", max_size=256).filter(len),
                     st.text(min_size=257) | st.just("")),
    "recipient_participant_id": (numbers, not_numbers | st.just(MISSING) | st.none()),
    "pricing": (optional(pricings), None),
})
statuses = objects({
    "channel_id": (texts("acmeCH0001", max_size=128).filter(len), st.text(min_size=129) | st.just("") | wrong_types),
    "waba_id": (optional(texts("102290129340398", max_size=128).filter(len)), st.just("") | st.text(min_size=129)),
    "phone_number_id": (optional(st.just("106540352242922")), st.just("") | wrong_types),
    "received_at": (st.just("2026-10-20T10:15:02Z"), rfc3339_times() | wrong_types | st.just(MISSING)),
    "status": (inner | groups, wrong_types | st.just(MISSING)),
})
extras = st.dictionaries(st.sampled_from(["errors", "biz_opaque_callback_data", "x", "status_x"]), json_values,
                         max_size=2)


def values_of(m: LightMessageStatus | MessageStatus) -> tuple[Any, ...]:
    """Everything billing reads of a status, in one comparable tuple."""
    s, c, p = m.status, m.status.conversation, m.status.pricing
    at = m.received_at if isinstance(m, MessageStatus) else _to_utc_datetime(m.received_at)
    return (m.channel_id, m.waba_id, m.phone_number_id, at, s.id, s.status, s.timestamp, s.timestamp_utc
            if len(s.timestamp) < 11 else None, s.recipient_type, s.recipient_id, s.recipient_participant_id,
            s.is_group, s.recipient_number, c and c.id, c and c.origin and c.origin.type,
            p and (p.billable, p.pricing_model, p.category, p.type))


def assert_agree(value: bytes) -> None:
    agreement.assert_agree(TOPIC, value, MessageStatus, LightMessageStatus, values_of)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statuses, extras, st.booleans())
def test_generated_statuses_are_accepted_and_refused_alike(value, extra, ascii_only):
    """Valid and invalid statuses (wrong types, lengths, patterns, times, group rules, unknown fields, escaped
    or raw UTF-8): read accepts what the models accept, with the same values, and refuses the rest with the
    same dead-letter code and message."""
    value = encoded(value, ascii_only, extra)
    event("accepted" if isinstance(by_models(TOPIC, value), MessageStatus) else "refused")
    assert_agree(value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_status_bytes_are_refused_alike(data):
    """Bytes cut, inserted or replaced in a valid record (malformed JSON, non-UTF-8, non-objects)."""
    raw = bytearray(json.dumps(VALID).encode())
    at = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 3))
    raw[at:at + cut] = data.draw(st.binary(max_size=3))
    assert_agree(bytes(raw))


EDGES = {
    "channel_id": ["", "c" * 128, "c" * 129], "waba_id": ["", "w" * 129], "phone_number_id": [""],
    "received_at": ["2026-10-20T10:15:02+02:00", "2026-10-20t10:15:02z", "2026-10-20T10:15:02", "2026-10-20",
                    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-30T00:00:00Z",
                    "2026-10-20T10:15:02.123456789Z", "2026-10-20T10:15:02.1234567890Z", "2026-10-20T10:15:02Z\n",
                    "2026-10-20 10:15:02Z", 1792577700],
    "status.id": ["", "w" * 256, "w" * 257], "status.status": ["deleted", "Delivered"],
    "status.timestamp": ["", "0", "9" * 11, "9" * 12, "1792577700\n", "-1", "١٧٩٢٥٧٧٧٠٠", "1.5", 1792577700],
    "status.recipient_type": ["individual", "group", "Group", ""],
    "status.recipient_id": ["12345", "1234", "9" * 20, "9" * 21, "4915112345678\n", "+4915112345678",
                            "٤٩١٥١١٢٣٤٥", "120363040000000000@g.us", "", "x" * 257],
    "status.recipient_participant_id": ["4915112345678", "1234", "4915112345678\n", ""],
    "status.conversation": [{"id": "c"}, {"id": ""}, {"id": "c", "origin": {"type": ""}}, {"id": "c", "origin": {}},
                            {"id": "c", "origin": None}, {"id": "c" * 257}],
    "status.pricing.billable": ["true", 1, 0, False],
    "status.pricing.pricing_model": ["pmp", "CBP"], "status.pricing.category": ["", "c" * 64, "c" * 65],
    "status.pricing.type": ["free", "free_entry_point", "free_group_customer_service"],
}


def test_every_edge_value_alone_is_judged_alike():
    """Each edge of the contract, and each wrong type, in an otherwise valid status (and in a group's): the
    same verdict."""
    group = with_value(with_value(VALID, "status.recipient_type", "group"), "status.recipient_id", "12036@g.us")
    group = with_value(group, "status.recipient_participant_id", "4915112345678")
    for record in (VALID, group):
        for path, values in EDGES.items():
            for value in [*values, *WRONG_TYPES]:
                assert_agree(json.dumps(with_value(record, path, value)).encode())


def test_the_contract_example_takes_the_fast_path():
    """A status as Meta sends it is read without the models."""
    assert fast_read_or_none(TOPIC, json.dumps(VALID).encode()) is not None


def test_edges_that_the_two_parsers_see_differently_are_the_models_to_decide():
    """NaN in an unknown field (the models' parser takes it, msgspec not), deep nesting (the models' parser
    refuses it), escapes and surrogates, a number too large, and a value over the size limit."""
    ok = json.dumps(VALID)
    cases = [ok[:-1] + ', "x": NaN}', ok[:-1] + ', "x": ' + "[" * 300 + "]" * 300 + "}",
             ok[:-1] + ', "x": ' + "[" * 150 + "]" * 150 + "}", ok[:-1] + ', "x": "\\ud800"}',
             ok[:-1] + ', "x": 1e999}', ok[:-1] + ', "x": 123456789012345678901234567890}',
             ok.replace('"channel_id"', '"channel_\\u0069d"'), ok.replace("acmeCH0001", "acme\\u0000"),
             ok[:-1] + ', "channel_id": 5}', ok + "\n", "\ufeff" + ok]
    for case in cases:
        assert_agree(case.encode())
    assert isinstance(read(TOPIC, cases[0].encode()), LightMessageStatus)
    assert by_read(TOPIC, b"{" + b" " * 70_000 + b"}")[0] is ErrorCode.TOO_LARGE
    assert by_read(TOPIC, b'{"channel_id": "\xff"}')[0] is ErrorCode.MALFORMED_JSON
    assert by_read(TOPIC, b"[]") == (ErrorCode.MALFORMED_JSON, "value is not a JSON object")


def test_the_recipients_number_is_not_in_the_light_structures_repr():
    """Personal data (§4.1) never reaches a log line through a repr."""
    message = read(TOPIC, json.dumps(VALID).encode())
    assert "4915112345678" not in repr(message) and "4915112345678" not in str(message)
