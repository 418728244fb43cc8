"""The outbox relay's way to the broker: a whole batch through the broker's own aiokafka producer.

A FastStream `publish` per record ran its middlewares, its codec, a
correlation id and the Prometheus middleware for each one, about a tenth of
usage ingest's CPU. The relay needs none of it: its records are bytes
already, and nothing reads the headers FastStream added. So a batch is
handed straight to the producer FastStream connected (same connection,
`acks=all` and idempotence from `shared/kafka.py`), the relay waits for every
acknowledgement as before, and FastStream's published-messages counters
(`billing_published_messages_total`, its exceptions; the dashboard reads
them) are moved once per topic and batch. The publishers stay declared, for
the AsyncAPI documents.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.prometheus.container import MetricsContainer
from faststream.prometheus.types import PublishingStatus
from prometheus_client import CollectorRegistry

from .outbox import OutboxRecord
from .published_positions import ORIGIN_HEADER

_BROKER = "kafka"  # the `broker` label FastStream's Kafka middleware gives its metrics


def producer_of(broker: KafkaBroker) -> AIOKafkaProducer:
    """The aiokafka producer a connected FastStream broker publishes with (FastStream has no public accessor:
    a change of its internals fails here, at the first relay, not silently)."""
    producer = broker.config.producer._producer.producer  # type: ignore[attr-defined]
    if not isinstance(producer, AIOKafkaProducer):
        raise RuntimeError(f"the broker's producer is a {type(producer).__name__}, not aiokafka's")
    return producer


class OutboxPublisher:
    """Sends a relay batch and returns each record's metadata once the broker acknowledged all of them."""

    def __init__(self, producer: Callable[[], AIOKafkaProducer], registry: CollectorRegistry, app_name: str,
                 tracked: frozenset[str] = frozenset()) -> None:
        """`producer` gives the connected producer (`producer_of` the service's broker). On the topics of
        `tracked`, every record names this database's origin (`origin`, set before the first batch) in its
        headers."""
        self._producer = producer
        self._metrics = MetricsContainer(registry, metrics_prefix="billing", custom_label_names=())
        self._app_name = app_name
        self._tracked = tracked
        self.origin: str | None = None

    async def __call__(self, records: Sequence[OutboxRecord]) -> list[object]:
        producer = self._producer()
        origin = [(ORIGIN_HEADER, self.origin.encode())] if self._tracked and self.origin else None
        if self._tracked and origin is None:
            raise RuntimeError("the outbox publishes a tracked topic before its origin is known")
        per_topic = Counter(r.topic for r in records)
        started, failed = time.perf_counter(), None
        try:
            futures = [await producer.send(r.topic, r.value, key=r.key,
                                           headers=origin if r.topic in self._tracked else None)
                       for r in records]
            return await asyncio.gather(*futures)
        except Exception as exc:
            failed = type(exc).__name__
            raise
        finally:
            self._count(per_topic, time.perf_counter() - started, failed)

    def _count(self, per_topic: Counter[str], seconds: float, failed: str | None) -> None:
        """What FastStream's middleware counts per publish, once per topic of the batch."""
        status = (PublishingStatus.error if failed else PublishingStatus.success).value
        for topic, n in per_topic.items():
            labels = {"app_name": self._app_name, "broker": _BROKER, "destination": topic}
            self._metrics.published_messages_total.labels(**labels, status=status).inc(n)
            self._metrics.published_messages_duration_seconds.labels(**labels).observe(seconds)
            if failed:
                self._metrics.published_messages_exceptions_total.labels(**labels, exception_type=failed).inc()
