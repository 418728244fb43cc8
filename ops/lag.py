"""How far consumer groups are behind: the records published that they have not committed yet."""

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.topics import Topic


async def consumer_lag(bootstrap: str, groups: Mapping[str, Sequence[Topic]]) -> int:
    """Records of these topics that these groups have not committed; a group whose coordinator is
    not elected yet counts as having committed nothing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await reader.start()
    try:
        total = 0
        for group, topics in groups.items():
            parts = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
            ends = await reader.end_offsets(parts)
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except KafkaError:
                committed = {}
            total += sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
        return total
    finally:
        await reader.stop()
        await admin.close()
