"""The outbox relay's batch goes to the producer as one record batch per partition, its origin on tracked
topics, counted once per topic."""

import asyncio
from collections import namedtuple

import pytest
from prometheus_client import CollectorRegistry

from shared.key_partitions import KeyPartitions
from shared.outbox import OutboxRecord
from shared.outbox_publisher import OutboxPublisher, Sent
from shared.published_positions import ORIGIN_HEADER

Meta = namedtuple("Meta", "topic partition offset")  # what aiokafka's batch future gives: the first offset


class Batch:
    """aiokafka's BatchBuilder: takes records until `room` is used up (the first always), then refuses."""

    def __init__(self, room: int) -> None:
        self.records: list[tuple[bytes | None, bytes, list | None]] = []
        self.room, self.closed = room, False

    def append(self, *, timestamp, key, value, headers=None):
        if self.closed or (self.records and len(self.records) >= self.room):
            self.closed = True
            return None
        self.records.append((key, value, headers))
        return object()

    def close(self) -> None:
        self.closed = True


class Producer:
    """aiokafka's producer as the relay uses it: a topic's partitions, batches, and a future per batch that
    the broker's acknowledgement resolves (here at once) with the batch's first offset."""

    def __init__(self, partitions: int = 3, room: int = 100, fail: Exception | None = None) -> None:
        self.sent: list[tuple[str, int, Batch]] = []
        self.partitions, self.room, self.fail = partitions, room, fail
        self.next_offset: dict[tuple[str, int], int] = {}

    async def partitions_for(self, topic):
        return set(range(self.partitions))

    def create_batch(self):
        return Batch(self.room)

    async def send_batch(self, batch, topic, *, partition):
        assert batch.closed, "a batch is closed before it is sent, so nothing else joins it"
        self.sent.append((topic, partition, batch))
        future = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(self.fail)
        else:
            base = self.next_offset.get((topic, partition), 0)
            self.next_offset[(topic, partition)] = base + len(batch.records)
            future.set_result(Meta(topic, partition, base))
        return future


def count(registry: CollectorRegistry, topic: str, status: str = "success") -> float | None:
    return registry.get_sample_value("billing_published_messages_total", {
        "app_name": "billing-x", "broker": "kafka", "destination": topic, "status": status})


def partition(key: bytes, partitions: int = 3) -> int:
    return KeyPartitions().of(key, range(partitions))


async def test_a_batch_goes_out_per_partition_with_its_origin_on_tracked_topics_and_is_counted_once_per_topic():
    """Each record lands in its key's partition in the relay's order, only the tracked topic's carry the
    origin, each partition's batch reports its last record's offset, and the counter moves by the records
    per topic once all are acknowledged."""
    producer, registry = Producer(), CollectorRegistry()
    publish = OutboxPublisher(lambda: producer, registry, "billing-x", frozenset({"invoices"}))
    publish.origin = "db-1"
    keys = [f"partner-{i % 7}".encode() for i in range(30)]
    records = [OutboxRecord("invoices", k, f"{{{i}}}".encode()) for i, k in enumerate(keys)]
    records.append(OutboxRecord("events", b"k", b"{e}"))
    sent = await publish(records)
    got = {(t, p): b.records for t, p, b in producer.sent}
    for t, p in got:
        expected = [r for r in records if r.topic == t and partition(r.key) == p]
        assert [(k, v) for k, v, _ in got[(t, p)]] == [(r.key, r.value) for r in expected]
    assert all(h == [(ORIGIN_HEADER, b"db-1")] for t, _, b in producer.sent if t == "invoices" for *_, h in b.records)
    assert all(h is None for t, _, b in producer.sent if t == "events" for *_, h in b.records)
    assert sorted(sent, key=lambda s: (s.topic, s.partition)) == sorted(
        (Sent(t, p, len(b.records) - 1, len(b.records)) for t, p, b in producer.sent),
        key=lambda s: (s.topic, s.partition))
    assert count(registry, "invoices") == 30 and count(registry, "events") == 1


async def test_a_full_batch_is_followed_by_another_for_the_same_partition_in_order():
    """When a partition's batch is full the rest follow in a further batch, sent after it; the reach is the
    last record's offset."""
    producer = Producer(partitions=1, room=4)
    publish = OutboxPublisher(lambda: producer, CollectorRegistry(), "billing-x")
    records = [OutboxRecord("events", b"balance-1", f"{i}".encode()) for i in range(10)]
    sent = await publish(records)
    assert [len(b.records) for _, _, b in producer.sent] == [4, 4, 2]
    assert [v for _, _, b in producer.sent for _, v, _ in b.records] == [r.value for r in records]
    assert [s.offset for s in sent] == [3, 7, 9]


async def test_a_refused_batch_raises_and_is_counted_as_an_error():
    """The relay sees the broker's error (and keeps the rows); the metrics count the failure per topic."""
    registry = CollectorRegistry()
    publish = OutboxPublisher(lambda: Producer(fail=RuntimeError("no leader")), registry, "billing-x")
    with pytest.raises(RuntimeError, match="no leader"):
        await publish([OutboxRecord("events", b"k", b"{}")])
    assert count(registry, "events", "error") == 1 and count(registry, "events") is None
    assert registry.get_sample_value("billing_published_messages_exceptions_total", {
        "app_name": "billing-x", "broker": "kafka", "destination": "events", "exception_type": "RuntimeError"}) == 1


async def test_a_tracked_topic_is_never_published_without_the_origin():
    """Before the origin is loaded nothing goes out: a record without it would not count as this database's."""
    producer = Producer()
    publish = OutboxPublisher(lambda: producer, CollectorRegistry(), "billing-x", frozenset({"invoices"}))
    with pytest.raises(RuntimeError, match="origin"):
        await publish([OutboxRecord("invoices", b"k", b"{}")])
    assert producer.sent == []
