"""The outbox relay's batch goes straight to the producer, its origin on tracked topics, counted once per topic."""

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from shared.outbox import OutboxRecord
from shared.outbox_publisher import OutboxPublisher
from shared.published_positions import ORIGIN_HEADER


class Producer:
    """aiokafka's `send`: enqueue, and a future the broker's acknowledgement resolves (here at once)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, list | None]] = []
        self.fail = fail

    async def send(self, topic, value, key=None, headers=None):
        self.sent.append((topic, key, value, headers))
        future = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(self.fail)
        else:
            future.set_result(f"{topic}@{len(self.sent) - 1}")
        return future


def count(registry: CollectorRegistry, topic: str, status: str = "success") -> float | None:
    return registry.get_sample_value("billing_published_messages_total", {
        "app_name": "billing-x", "broker": "kafka", "destination": topic, "status": status})


async def test_a_batch_is_sent_with_its_origin_on_tracked_topics_and_counted_once_per_topic():
    """Every record goes out as bytes, only the tracked topic's carry the origin, and the counter moves by the
    batch's records per topic once all are acknowledged."""
    producer, registry = Producer(), CollectorRegistry()
    publish = OutboxPublisher(lambda: producer, registry, "billing-x", frozenset({"invoices"}))
    publish.origin = "db-1"
    records = [OutboxRecord("invoices", b"k1", b"{1}"), OutboxRecord("events", None, b"{2}"),
               OutboxRecord("invoices", b"k3", b"{3}")]
    assert await publish(records) == ["invoices@0", "events@1", "invoices@2"]
    assert producer.sent == [("invoices", b"k1", b"{1}", [(ORIGIN_HEADER, b"db-1")]),
                             ("events", None, b"{2}", None), ("invoices", b"k3", b"{3}", [(ORIGIN_HEADER, b"db-1")])]
    assert count(registry, "invoices") == 2 and count(registry, "events") == 1


async def test_a_refused_batch_raises_and_is_counted_as_an_error():
    """The relay sees the broker's error (and keeps the rows); the metrics count the failure per topic."""
    registry = CollectorRegistry()
    publish = OutboxPublisher(lambda: Producer(RuntimeError("no leader")), registry, "billing-x")
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
