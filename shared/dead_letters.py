"""The gate at every input: decode a batch, send what cannot be accepted to its DLQ.

A refused record is never dropped and never blocks its partition: it is
written to `<topic>.dlq` with the §3.8 envelope (original key, the payload as
text) before the batch's offsets are committed. Logs name the record by topic,
partition, offset and error code, never by its payload, which may carry
personal data.
"""

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from shared.contracts import ContractViolation, DeadLetter, ErrorCode, encode, read
from shared.topics import Topic

from .logging import get_logger
from .metrics import ServiceMetrics

log = get_logger(__name__)

# Kafka refuses records over ~1 MiB by default. A refused value near that size,
# escaped into the envelope's JSON, could outgrow it, and a dead letter that
# cannot be published would block its partition forever. Such a payload is cut.
MAX_DEAD_LETTER_BYTES = 512 * 1024
TRUNCATED_PAYLOAD_CHARS = MAX_DEAD_LETTER_BYTES // 8


# Not `frozen`: one is made for every record every service reads, and a frozen __init__ costs several times as
# much; nothing changes it once made.
@dataclass(slots=True)
class Accepted:
    record: ConsumerRecord
    message: Any


@dataclass(frozen=True, slots=True)
class Rejected:
    record: ConsumerRecord
    code: ErrorCode
    reason: str


def screen(records: Iterable[ConsumerRecord], max_bytes: int) -> tuple[list[Accepted], list[Rejected]]:
    """Split records into decoded contract messages and contract violations, keeping order."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            accepted.append(Accepted(record, read(record.topic, record.value, max_bytes)))
        except ContractViolation as violation:
            rejected.append(Rejected(record, violation.code, violation.message))
    return accepted, rejected


def envelope(record: ConsumerRecord, code: ErrorCode, reason: str) -> bytes:
    """The §3.8 dead letter of `record`, small enough to publish whatever the record held."""
    payload = record.value or b""
    failed_at = datetime.now(UTC)
    value = encode(DeadLetter.build(code=code, message=reason, topic=record.topic,
                                    partition=record.partition, offset=record.offset,
                                    key=record.key, payload=payload, failed_at=failed_at))
    if len(value) <= MAX_DEAD_LETTER_BYTES:
        return value
    text = payload.decode("utf-8", errors="replace")[:TRUNCATED_PAYLOAD_CHARS]
    note = f"{reason} (payload truncated to its first {len(text)} characters of {len(payload)} bytes)"
    return encode(DeadLetter.build(code=code, message=note, topic=record.topic,
                                   partition=record.partition, offset=record.offset,
                                   key=record.key, payload=text.encode(), failed_at=failed_at))


class DeadLetterSink:
    """Publishes refused records to the DLQ twin of their topic."""

    def __init__(self, broker: KafkaBroker, topics: Sequence[Topic], metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._publishers = {
            t.name: broker.publisher(
                t.dlq, title=f"{t.dlq}:publish",
                description=f"Records of {t.name} that were refused, with the reason (CONTRACT.md §3.8).",
                schema=DeadLetter)
            for t in topics
        }

    async def send(self, rejected: Sequence[Rejected | tuple[ConsumerRecord, ErrorCode, str]]) -> None:
        """Publish every dead letter and wait until the broker has them all."""
        if rejected:
            await asyncio.gather(*(self._send_one(*self._fields(r)) for r in rejected))

    @staticmethod
    def _fields(r: Rejected | tuple[ConsumerRecord, ErrorCode, str]) -> tuple[ConsumerRecord, ErrorCode, str]:
        return (r.record, r.code, r.reason) if isinstance(r, Rejected) else r

    async def _send_one(self, record: ConsumerRecord, code: ErrorCode, reason: str) -> None:
        await self._publishers[record.topic].publish(envelope(record, code, reason), key=record.key)
        self._metrics.dead_letters.labels(self._metrics.service, record.topic, str(code)).inc()
        log.warning("record refused", topic=record.topic, partition=record.partition,
                    offset=record.offset, code=str(code), reason=reason)
