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

from aiokafka import TopicPartition

from .metrics import ServiceMetrics
from .positions import KafkaPositions
from .settings import KafkaSettings


def lag_of(ends: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """End offset minus committed offset; a partition the group never committed lags by all its records."""
    return {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}


class LagMonitor:
    def __init__(self, settings: KafkaSettings, group_id: str, topics: Sequence[str],
                 metrics: ServiceMetrics) -> None:
        self._positions = KafkaPositions(settings, "billing-lag")
        self._group = group_id
        self._topics = list(dict.fromkeys(topics))
        self._metrics = metrics

    async def measure(self) -> dict[TopicPartition, int]:
        parts = [tp for topic in self._topics for tp in await self._positions.partitions(topic)]
        ends = await self._positions.ends(parts)
        return lag_of(ends, await self._positions.committed_at(self._group, parts))

    async def update(self) -> None:
        """Measure and publish the lag gauges (the periodic job)."""
        lags = await self.measure()
        service = self._metrics.service
        for tp, lag in lags.items():
            self._metrics.consumer_lag.labels(service, self._group, tp.topic, str(tp.partition)).set(lag)
        self._metrics.lag_measured.labels(service).set_to_current_time()

    async def close(self) -> None:
        await self._positions.close()
