"""Small real-Kafka helpers for the tests: publish records, read them back."""

import asyncio
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata

from shared.kafka import client_options
from shared.settings import KafkaSettings

# A PLAINTEXT address, or how to log in to a secured broker (tests/integration/test_security.py).
Broker = str | KafkaSettings


def _options(bootstrap: Broker) -> dict[str, object]:
    if isinstance(bootstrap, str):
        return {"bootstrap_servers": bootstrap}
    return client_options(bootstrap)


async def publish(bootstrap: Broker, topic: str, records: Sequence[tuple[bytes | None, bytes]],
                  headers: Sequence[tuple[str, bytes]] = ()) -> list[RecordMetadata]:
    """Publish (key, value) pairs in order and return where each landed."""
    producer = AIOKafkaProducer(**_options(bootstrap), acks="all", enable_idempotence=True,
                                max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k, headers=list(headers)) for k, v in records]
        return [await f for f in futures]
    finally:
        await producer.stop()


async def read_at(bootstrap: str, where: RecordMetadata) -> ConsumerRecord:
    """The one record at a topic-partition-offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(where.topic, where.partition)
        consumer.assign([tp])
        consumer.seek(tp, where.offset)
        return await asyncio.wait_for(consumer.getone(tp), timeout=10)
    finally:
        await consumer.stop()


async def collect(bootstrap: Broker, topic: str, match: Callable[[ConsumerRecord], bool], count: int,
                  timeout_s: float = 30.0,
                  identity: Callable[[ConsumerRecord], object] | None = None) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until `count` records match (or the time is up); with
    `identity`, until `count` distinct ones do (copies are returned too)."""
    consumer = AIOKafkaConsumer(**_options(bootstrap), enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or
                                                               await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = asyncio.get_running_loop().time() + timeout_s
        seen: set[object] = set()
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for r in (r for records in batch.values() for r in records if match(r)):
                found.append(r)
                seen.add(identity(r) if identity else len(found))
            if len(seen) >= count:
                break
        return found
    finally:
        await consumer.stop()


async def read_to_end(bootstrap: Broker, topic: str, match: Callable[[ConsumerRecord], bool],
                      timeout_s: float = 60.0) -> list[ConsumerRecord]:
    """Every record of `topic` that matches, from the beginning to where the topic ended when called
    (however long the topic: a fixed time would judge a long topic by its first part only)."""
    consumer = AIOKafkaConsumer(**_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ConsumerRecord] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        async def drain() -> None:
            while await behind():
                batch = await consumer.getmany(timeout_ms=500)
                found.extend(r for tp, records in batch.items() for r in records
                             if r.offset < ends[tp] and match(r))

        await asyncio.wait_for(drain(), timeout_s)
        return found
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # the cache is empty right after start
    return consumer.partitions_for_topic(topic) or set()


async def committed_offsets(bootstrap: str, group_id: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
        return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()
