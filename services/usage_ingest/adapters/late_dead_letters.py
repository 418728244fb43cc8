"""Dead letters of records no longer in hand, re-read from Kafka by their position.

Held statuses are kept in PostgreSQL only by topic, partition and offset (their
payload carries a phone number, which is not stored). When one has to be
dead-lettered later (its channel never appeared, or no rate exists once it
did), the record is read back from Kafka and its §3.8 envelope published.
"""

import asyncio
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts import ErrorCode
from shared.dead_letters import DeadLetterSink, Rejected
from shared.logging import get_logger
from shared.kafka import client_options
from shared.settings import KafkaSettings

log = get_logger(__name__)


class LateDeadLetters:
    def __init__(self, pool: Callable[[], asyncpg.Pool], sink: DeadLetterSink, kafka: KafkaSettings,
                 batch: int = 200) -> None:
        self._pool = pool
        self._sink = sink
        self._kafka = kafka
        self._batch = batch
        self._consumer: AIOKafkaConsumer | None = None

    async def _reader(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None,
                                              **client_options(self._kafka))
            await self._consumer.start()
        return self._consumer

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def publish_once(self) -> int:
        """Publish and delete one batch of queued late dead letters; return how many."""
        async with self._pool().acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT topic, partition, \"offset\", key, code, reason FROM late_dead_letters "
                "ORDER BY queued_at LIMIT $1 FOR UPDATE SKIP LOCKED", self._batch)
            if not rows:
                return 0
            letters = [Rejected(await self._fetch(r), ErrorCode(r["code"]), r["reason"]) for r in rows]
            await self._sink.send(letters)
            await conn.execute(
                "DELETE FROM late_dead_letters WHERE (topic, partition, \"offset\") IN "
                "(SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))",
                [r["topic"] for r in rows], [r["partition"] for r in rows], [r["offset"] for r in rows])
        return len(rows)

    async def _fetch(self, row: asyncpg.Record) -> ConsumerRecord:
        consumer = await self._reader()
        tp = TopicPartition(row["topic"], row["partition"])
        consumer.assign([tp])
        consumer.seek(tp, row["offset"])
        try:
            record = await asyncio.wait_for(consumer.getone(tp), timeout=10)
            if record.offset == row["offset"]:
                return record
        except TimeoutError:
            pass
        # Past the topic's retention: the envelope keeps the position, without the payload.
        log.warning("held record no longer in Kafka", topic=row["topic"], partition=row["partition"],
                    offset=row["offset"])
        return ConsumerRecord(topic=row["topic"], partition=row["partition"], offset=row["offset"],
                              timestamp=0, timestamp_type=0, key=row["key"], value=b"", checksum=None,
                              serialized_key_size=-1, serialized_value_size=-1, headers=())
