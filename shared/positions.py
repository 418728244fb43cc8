"""Kafka positions read from outside a consumer: where topics end, and what a group has committed.

The month close's barrier (invoicing) and the consumer-lag gauges (every
service) both ask the broker these two questions; one admin client and one
reader, opened on first use, answer them. The reader also reads a range of
records back (invoicing's recovery, the reconciliation).
"""

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from .kafka import client_options
from .settings import KafkaSettings


class KafkaPositions:
    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            options = client_options(self._settings)
            self._admin = AIOKafkaAdminClient(client_id=self._client_id, **options)
            self._reader = AIOKafkaConsumer(client_id=self._client_id, enable_auto_commit=False, **options)
            await self._admin.start()
            await self._reader.start()
        return self._admin, self._reader

    async def partitions(self, topic: str) -> list[TopicPartition]:
        _, reader = await self._clients()
        found = reader.partitions_for_topic(topic)
        if not found:
            await reader._client.force_metadata_update()  # the cache starts empty
            found = reader.partitions_for_topic(topic) or set()
        return [TopicPartition(topic, p) for p in sorted(found)]

    async def ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        _, reader = await self._clients()
        return await reader.end_offsets(partitions)

    async def read(self, start: dict[TopicPartition, int], end: dict[TopicPartition, int],
                   timeout_s: float = 300.0) -> list[ConsumerRecord]:
        """Each partition's records from `start` up to `end` (excluded), in order."""
        todo = {tp: end[tp] for tp, offset in start.items() if offset < end[tp]}
        if not todo:
            return []
        _, reader = await self._clients()
        reader.assign(list(todo))
        for tp in todo:
            reader.seek(tp, start[tp])
        found: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout_s):
            while todo:
                batch = await reader.getmany(*todo, timeout_ms=1000)
                for tp, records in batch.items():
                    found += [r for r in records if r.offset < todo.get(tp, 0) and r.value is not None]
                for tp in [tp for tp in todo if await reader.position(tp) >= todo[tp]]:
                    del todo[tp]
        reader.assign([])
        return found

    async def starts(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """Where each partition's log starts now (retention moves it on)."""
        _, reader = await self._clients()
        return await reader.beginning_offsets(partitions)

    async def committed_at(self, group_id: str, partitions: list[TopicPartition] | None = None
                           ) -> dict[TopicPartition, int]:
        """What `group_id` has committed (all its partitions, or those given); nothing when it has no
        coordinator yet."""
        admin, _ = await self._clients()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        except KafkaError:
            return {}
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Partition → where `topic` ends now."""
        return {tp.partition: offset for tp, offset in (await self.ends(await self.partitions(topic))).items()}

    async def committed(self, group_id: str, topic: str) -> dict[int, int]:
        """Partition → what `group_id` has committed on `topic`."""
        return {tp.partition: offset for tp, offset in (await self.committed_at(group_id)).items()
                if tp.topic == topic}

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._reader = None
