"""How far consumer groups are behind: the records published that they have not committed yet."""

from collections.abc import Mapping, Sequence

from aiokafka import TopicPartition

from shared.lag import lag_of
from shared.positions import KafkaPositions
from shared.settings import KafkaSettings
from shared.topics import Topic


async def consumer_lag(kafka: KafkaSettings | str, groups: Mapping[str, Sequence[Topic]]) -> int:
    """Records of these topics that these groups have not committed; a group whose coordinator is
    not elected yet counts as having committed nothing. `kafka` is a bootstrap address or the
    settings of a secured broker."""
    settings = kafka if isinstance(kafka, KafkaSettings) else KafkaSettings(bootstrap_servers=kafka)
    positions = KafkaPositions(settings, "billing-ops-lag")
    try:
        total = 0
        for group, topics in groups.items():
            parts = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
            total += sum(lag_of(await positions.ends(parts), await positions.committed_at(group, parts)).values())
        return total
    finally:
        await positions.close()
