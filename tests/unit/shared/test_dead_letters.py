"""The gate splits a batch into contract messages and dead letters, and publishes the latter."""

import json

from aiokafka import ConsumerRecord

from shared.contracts import DeadLetter, ErrorCode, LightMessageStatus, MonthClose
from shared.dead_letters import MAX_DEAD_LETTER_BYTES, DeadLetterSink, envelope, screen
from shared.metrics import ServiceMetrics
from shared.topics import COMMANDS, MESSAGE_STATUS

CLOSE = {"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}


def record(value: bytes | None, offset: int, topic: str = COMMANDS.name, key: bytes | None = b"2026-10"):
    return ConsumerRecord(topic=topic, partition=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=key, value=value, checksum=None, serialized_key_size=0,
                          serialized_value_size=0, headers=())


def test_valid_records_are_decoded_and_invalid_ones_are_named_with_their_code_in_order():
    """Each record is judged alone: one bad record does not spoil the batch."""
    records = [record(json.dumps(CLOSE).encode(), 0), record(b"{oops", 1),
               record(json.dumps({**CLOSE, "month": "2026-13"}).encode(), 2),
               record(None, 3), record(b"x" * 100, 4)]
    accepted, rejected = screen(records, max_bytes=90)
    assert [a.record.offset for a in accepted] == [0]
    assert accepted[0].message.month == "2026-10"
    assert [(r.record.offset, r.code) for r in rejected] == [
        (1, ErrorCode.MALFORMED_JSON), (2, ErrorCode.SCHEMA_INVALID),
        (3, ErrorCode.MALFORMED_JSON), (4, ErrorCode.TOO_LARGE)]
    assert "month" in rejected[1].reason


def test_a_status_gets_its_contract_structure_from_its_topic():
    """The topic decides what is read: a status record becomes the light structure of a MessageStatus (the hot
    path's), a month close its model."""
    status = {"channel_id": "acmeCH0001", "received_at": "2026-10-20T10:15:02Z",
              "status": {"id": "wamid.1", "status": "sent", "timestamp": "1792577700",
                         "recipient_id": "4915112345678"}}
    close = {"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}
    [accepted, command], [] = screen([record(json.dumps(status).encode(), 7, MESSAGE_STATUS.name),
                                      record(json.dumps(close).encode(), 8, COMMANDS.name)], 65536)
    assert isinstance(accepted.message, LightMessageStatus)
    assert (accepted.message.channel_id, accepted.message.status.id) == ("acmeCH0001", "wamid.1")
    assert isinstance(command.message, MonthClose)


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes | None]] = []

    async def publish(self, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((value, key))


class FakeBroker:
    def __init__(self) -> None:
        self.publishers: dict[str, FakePublisher] = {}

    def publisher(self, topic: str, **_: object) -> FakePublisher:
        return self.publishers.setdefault(topic, FakePublisher())


async def test_a_dead_letter_keeps_the_original_key_payload_and_position():
    """The §3.8 envelope: code, message, source topic/partition/offset/key, payload as text."""
    broker = FakeBroker()
    metrics = ServiceMetrics("test")
    sink = DeadLetterSink(broker, [COMMANDS], metrics)  # type: ignore[arg-type]
    _, rejected = screen([record(b"{oops", 41)], 1024)
    await sink.send(rejected)
    [(value, key)] = broker.publishers[COMMANDS.dlq].sent
    letter = DeadLetter.model_validate_json(value)
    assert key == b"2026-10"
    assert letter.error.code == ErrorCode.MALFORMED_JSON
    assert (letter.source.topic, letter.source.partition, letter.source.offset) == (COMMANDS.name, 0, 41)
    assert letter.source.key == "2026-10"
    assert letter.payload == "{oops"
    assert metrics.dead_letters.labels("test", COMMANDS.name, "malformed_json")._value.get() == 1


def test_a_huge_payload_that_escapes_badly_is_cut_so_its_dead_letter_can_always_be_published():
    """A megabyte of control characters would be six after JSON escaping: the letter stays small."""
    huge = record(b"\x01" * 1_000_000, 9)
    letter = DeadLetter.model_validate_json(value := envelope(huge, ErrorCode.TOO_LARGE, "over 65536 bytes"))
    assert len(value) <= MAX_DEAD_LETTER_BYTES
    assert letter.error.message.startswith("over 65536 bytes (payload truncated")
    assert "1000000 bytes" in letter.error.message
    assert letter.payload and set(letter.payload) == {"\x01"}
