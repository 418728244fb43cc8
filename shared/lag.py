"""Consumer lag of a service's own group, measured off the hot path.

Every `lag_interval_s` seconds each instance asks the broker two things: where
its input topics end, and what its consumer group has committed. The
difference per partition is the lag, set on `billing_consumer_lag`. Measured
from the group's committed offsets (not from the consumer's in-memory
position), it keeps growing when the consumers are stuck or gone, which is
when it matters; a batch handler does no extra work for it. Every instance
reports the whole group, so dashboards take the max per partition.
"""

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from .kafka import client_options
from .metrics import ServiceMetrics
from .settings import KafkaSettings


def lag_of(ends: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """End offset minus committed offset; a partition the group never committed lags by all its records."""
    return {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}


class LagMonitor:
    def __init__(self, settings: KafkaSettings, group_id: str, topics: Sequence[str],
                 metrics: ServiceMetrics) -> None:
        self._settings = settings
        self._group = group_id
        self._topics = list(dict.fromkeys(topics))
        self._metrics = metrics
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            options = client_options(self._settings)
            self._admin = AIOKafkaAdminClient(client_id="billing-lag", **options)
            self._reader = AIOKafkaConsumer(client_id="billing-lag", enable_auto_commit=False, **options)
            await self._admin.start()
            await self._reader.start()
        return self._admin, self._reader

    async def measure(self) -> dict[TopicPartition, int]:
        admin, reader = await self._clients()
        parts = []
        for topic in self._topics:
            partitions = reader.partitions_for_topic(topic)
            if not partitions:
                await reader._client.force_metadata_update()  # the cache starts empty
                partitions = reader.partitions_for_topic(topic) or set()
            parts += [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await reader.end_offsets(parts)
        try:
            offsets = await admin.list_consumer_group_offsets(self._group, partitions=parts)
        except KafkaError:  # no coordinator yet: nothing committed
            offsets = {}
        committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return lag_of(ends, committed)

    async def update(self) -> None:
        """Measure and publish the lag gauges (the periodic job)."""
        lags = await self.measure()
        service = self._metrics.service
        for tp, lag in lags.items():
            self._metrics.consumer_lag.labels(service, self._group, tp.topic, str(tp.partition)).set(lag)
        self._metrics.lag_measured.labels(service).set_to_current_time()

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._reader = None
