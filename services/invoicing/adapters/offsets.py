"""Kafka positions for the month close's barrier: where a topic ends, where a group has committed."""

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.kafka import client_options
from shared.settings import KafkaSettings


class KafkaOffsets:
    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            options = client_options(self._settings)
            self._admin = AIOKafkaAdminClient(**options)
            self._reader = AIOKafkaConsumer(enable_auto_commit=False, **options)
            await self._admin.start()
            await self._reader.start()
        return self._admin, self._reader

    async def end_offsets(self, topic: str) -> dict[int, int]:
        _, reader = await self._clients()
        partitions = reader.partitions_for_topic(topic)
        if not partitions:
            await reader._client.force_metadata_update()  # the cache starts empty
            partitions = reader.partitions_for_topic(topic) or set()
        ends = await reader.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}

    async def committed(self, group_id: str, topic: str) -> dict[int, int]:
        admin, _ = await self._clients()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id)
        except KafkaError:
            return {}
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._reader = None
