"""How a dead letter is replayed: the original record read back from its source topic, checked, republished.

The letter names where the refused record was (topic, partition, offset). That
record is read back, so the value bytes, key and headers republished are the
original ones; only when the source has expired (retention) is the letter's
payload text used, and a payload the letter had to cut is never replayed.
"""

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts import ContractViolation, DeadLetter, decode
from shared.kafka import client_options

from .common import CliSettings, producer, progress, started

TRUNCATED = "payload truncated"

Letter = tuple[str, int, DeadLetter]
"""A dead letter with its source topic and its offset in that topic's DLQ."""


def describe(topic: str, offset: int, d: DeadLetter) -> dict[str, Any]:
    return {"topic": topic, "dlq_offset": offset, "code": d.error.code.value, "message": d.error.message,
            "source_partition": d.source.partition, "source_offset": d.source.offset, "key": d.source.key,
            "failed_at": d.failed_at}


async def originals(s: CliSettings, letters: list[Letter]) -> list[dict[str, Any]]:
    """For each letter: the record to republish (from the source topic, else the payload), or why not."""
    consumer = await started(AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **client_options(s.kafka)), s)
    plans = []
    try:
        for topic, offset, d in letters:
            tp = TopicPartition(topic, d.source.partition)
            consumer.assign([tp])
            consumer.seek(tp, d.source.offset)
            plan = {**describe(topic, offset, d), "from": "source"}
            try:
                record = await asyncio.wait_for(consumer.getone(tp), timeout=5)
            except TimeoutError:
                record = None
            if record is not None and record.offset == d.source.offset:
                plan.update(key=record.key, value=record.value, headers=list(record.headers))
            elif TRUNCATED in d.error.message:
                plan.update(skip="the source record has expired and the letter holds only part of it")
            else:
                plan.update({"from": "payload", "key": d.source.key.encode() if d.source.key is not None else None,
                             "value": d.payload.encode(), "headers": []})
            plans.append(plan)
    finally:
        await consumer.stop()
    return plans


def precheck(plan: dict[str, Any], force: bool, max_bytes: int) -> None:
    """Skip a record that would be refused again for its shape, unless forced."""
    if "skip" in plan or force:
        return
    try:
        decode(plan["topic"], plan["value"], max_bytes=max_bytes)
    except ContractViolation as exc:
        plan["skip"] = f"still {exc.code.value}: {exc.message} (fix the producer; --force replays it anyway)"


async def republish(s: CliSettings, plans: list[dict[str, Any]]) -> None:
    """One producer for the lot, in DLQ order, each record to its own topic with its own key."""
    p = await started(producer(s), s)
    try:
        with progress("Replaying", sum("skip" not in plan for plan in plans)) as tick:
            for plan in (plan for plan in plans if "skip" not in plan):
                meta = await (await p.send(plan["topic"], value=plan["value"], key=plan["key"],
                                           headers=plan["headers"] or None))
                plan.update(replayed_partition=meta.partition, replayed_offset=meta.offset)
                tick(1)
    finally:
        await p.stop()


def once(plans: list[dict[str, Any]]) -> None:
    """A record dead-lettered again after an earlier replay is the same record: replayed once."""
    seen: dict[tuple[Any, ...], int] = {}
    for plan in plans:
        if "skip" not in plan:
            same = (plan["topic"], plan["key"], plan["value"])
            if same in seen:
                plan["skip"] = f"the same record as DLQ offset {seen[same]}"
            seen.setdefault(same, plan["dlq_offset"])
