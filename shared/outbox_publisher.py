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

aiokafka's `send` per record then cost half of what was left of the relay:
its pure-Python murmur2 partitioner and an append to the accumulator for each
record. The relay builds one record batch per partition itself instead
(`create_batch`, `send_batch`), choosing each record's partition by the
default rule (`shared/key_partitions.py`), and the broker acknowledges each
batch as a whole. Records of one key keep their order: they go to one
partition, in the relay's order, in one batch or in batches sent one after
the other.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.prometheus.container import MetricsContainer
from faststream.prometheus.types import PublishingStatus
from prometheus_client import CollectorRegistry

from .key_partitions import KeyPartitions
from .outbox import OutboxRecord
from .published_positions import ORIGIN_HEADER

_BROKER = "kafka"  # the `broker` label FastStream's Kafka middleware gives its metrics


@dataclass(frozen=True, slots=True)
class Sent:
    """A partition's batch once acknowledged: `offset` is that of its last record."""

    topic: str
    partition: int
    offset: int
    records: int


def producer_of(broker: KafkaBroker) -> AIOKafkaProducer:
    """The aiokafka producer a connected FastStream broker publishes with (FastStream has no public accessor:
    a change of its internals fails here, at the first relay, not silently)."""
    producer = broker.config.producer._producer.producer  # type: ignore[attr-defined]
    if not isinstance(producer, AIOKafkaProducer):
        raise RuntimeError(f"the broker's producer is a {type(producer).__name__}, not aiokafka's")
    return producer


class OutboxPublisher:
    """Sends a relay batch and returns each partition batch's metadata once the broker acknowledged all."""

    def __init__(self, producer: Callable[[], AIOKafkaProducer], registry: CollectorRegistry, app_name: str,
                 tracked: frozenset[str] = frozenset(), partitions: KeyPartitions | None = None) -> None:
        """`producer` gives the connected producer (`producer_of` the service's broker). On the topics of
        `tracked`, every record names this database's origin (`origin`, set before the first batch) in its
        headers."""
        self._producer = producer
        self._metrics = MetricsContainer(registry, metrics_prefix="billing", custom_label_names=())
        self._app_name = app_name
        self._tracked = tracked
        self._partitions = partitions or KeyPartitions()
        self.origin: str | None = None

    async def __call__(self, records: Sequence[OutboxRecord]) -> list[Sent]:
        producer = self._producer()
        origin = [(ORIGIN_HEADER, self.origin.encode())] if self._tracked and self.origin else None
        if self._tracked and origin is None:
            raise RuntimeError("the outbox publishes a tracked topic before its origin is known")
        per_topic = Counter(r.topic for r in records)
        started, failed = time.perf_counter(), None
        try:
            futures = [(topic, partition, n, await producer.send_batch(batch, topic, partition=partition))
                       for topic, partition, batch, n in await self._batches(producer, records, origin)]
            acked = await asyncio.gather(*(f for *_, f in futures))
            return [Sent(topic, partition, meta.offset + n - 1, n)
                    for (topic, partition, n, _), meta in zip(futures, acked, strict=True)]
        except Exception as exc:
            failed = type(exc).__name__
            raise
        finally:
            self._count(per_topic, time.perf_counter() - started, failed)

    async def _batches(self, producer: AIOKafkaProducer, records: Sequence[OutboxRecord],
                       origin: list[tuple[str, bytes]] | None) -> list[tuple[str, int, object, int]]:
        """The records in record batches per (topic, partition), each closed, with how many it holds; a
        partition gets a further batch when one is full (`max_batch_size`), the first record of a batch
        always fits. Order within a partition is the relay's."""
        partitions = {t: await producer.partitions_for(t) for t in {r.topic for r in records}}
        open_: dict[tuple[str, int], list] = {}
        done: list[tuple[str, int, object, int]] = []
        partition_of = self._partitions.of
        for r in records:
            tp = (r.topic, partition_of(r.key, partitions[r.topic]))
            current = open_.get(tp)
            if current is None:
                current = open_[tp] = [producer.create_batch(), 0]
            headers = origin if r.topic in self._tracked else None
            if current[0].append(timestamp=None, key=r.key, value=r.value, headers=headers) is None:
                done.append((*tp, current[0], current[1]))
                current[0], current[1] = producer.create_batch(), 0
                current[0].append(timestamp=None, key=r.key, value=r.value, headers=headers)
            current[1] += 1
        for tp, (batch, n) in open_.items():
            batch.close()
            done.append((*tp, batch, n))
        return done

    def _count(self, per_topic: Counter[str], seconds: float, failed: str | None) -> None:
        """What FastStream's middleware counts per publish, once per topic of the batch."""
        status = (PublishingStatus.error if failed else PublishingStatus.success).value
        for topic, n in per_topic.items():
            labels = {"app_name": self._app_name, "broker": _BROKER, "destination": topic}
            self._metrics.published_messages_total.labels(**labels, status=status).inc(n)
            self._metrics.published_messages_duration_seconds.labels(**labels).observe(seconds)
            if failed:
                self._metrics.published_messages_exceptions_total.labels(**labels, exception_type=failed).inc()
