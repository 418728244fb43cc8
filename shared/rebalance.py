"""Where a consumer starts on each partition it is assigned: the position its database stored.

On every assignment each partition is placed by `start_of`, from four numbers:
the position the service's database stored, the group's committed offset on
Kafka, and where the partition's log starts and ends now.

- Nothing stored (a partition added since the start-up, which stored one for
  every partition then: `check_stored`): Kafka decides (its committed offset,
  else the earliest record), and a committed offset is adopted as the stored
  position.
- Stored, and Kafka's committed offset behind it: read from Kafka's offset.
  A crash came after the database committed and before Kafka did: the tail
  is read again (idempotently), so its follow-ups (outbox relayed, dead
  letters, held records retried) run again before Kafka moves on, as before.
- Stored, and Kafka's committed offset ahead of it (the database was restored
  from a backup): read from the stored position, and commit it to Kafka, so
  that the month close's barrier, which reads committed offsets, waits for
  the replay.
- Stored, and nothing committed on Kafka (its offsets expired): read from the
  stored position and commit it once the outbox is relayed.
- Stored before the log's start (retention deleted records this service never
  read) or after its end (the topic was recreated, or the broker lost
  acknowledged records): the partition is paused and the service reports it
  (log, metric, readiness); it never skips data.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from .logging import get_logger
from .positions import KafkaPositions
from .stored_positions import PositionStore

log = get_logger(__name__)


@dataclass(frozen=True)
class Start:
    """Where one assigned partition is read from."""

    seek: int | None = None  # None: Kafka's committed offset, else the earliest record
    commit: bool = False  # make Kafka's committed offset say `seek`
    adopt: int | None = None  # store this (Kafka's committed offset) as the position
    problem: str | None = None  # the partition must not be read: why


def start_of(tp: TopicPartition, stored: int | None, committed: int | None, log_start: int, log_end: int) -> Start:
    if stored is None:
        in_log = committed is not None and log_start <= committed <= log_end
        return Start(adopt=committed if in_log else None)
    if stored < log_start:
        return Start(problem=(
            f"{tp.topic} partition {tp.partition}: the stored position {stored} is before the log's start "
            f"{log_start}: records {stored}..{log_start - 1} were deleted (retention) before this service read "
            "them. Restore a newer backup, or re-publish those records; see docs/operations.md"))
    if stored > log_end:
        return Start(problem=(
            f"{tp.topic} partition {tp.partition}: the stored position {stored} is after the log's end "
            f"{log_end}: the topic was recreated or the broker lost acknowledged records; see docs/operations.md"))
    if committed is not None and log_start <= committed < stored:
        return Start(seek=committed)
    if committed is None and stored == log_start:
        return Start(seek=stored)  # nothing read yet, nothing to tell Kafka
    return Start(seek=stored, commit=committed != stored)


class StoredPositionLost(RuntimeError):
    """A stored position the log no longer holds: the service does not start rather than skip records."""


async def check_stored(store: PositionStore, kafka: KafkaPositions, group: str, topics: list[str]) -> None:
    """At start-up, before consuming: refuse to start while any stored position of `group` lies outside its
    partition's log. A database that keeps no position of `group` yet (the first start of this version, or
    a new group) first stores one for every partition: Kafka's committed offset, else the log's start (where
    a new group begins). From then on every partition has one, so a database restored from a later backup
    never lets Kafka's committed offsets (ahead of it) decide where to read."""
    parts = [tp for topic in topics for tp in await kafka.partitions(topic)]
    stored = await store.load(group, topics)
    starts, ends = await kafka.starts(parts), await kafka.ends(parts)
    if not stored:
        committed = await kafka.committed_at(group, parts)
        stored = {tp: c if (c := committed.get(tp)) is not None and starts[tp] <= c <= ends[tp] else starts[tp]
                  for tp in parts}
        await store.save(group, stored)
    problems = [p for tp in sorted(stored) if tp in starts
                and (p := start_of(tp, stored[tp], None, starts[tp], ends[tp]).problem)]
    if problems:
        raise StoredPositionLost(f"consumer group {group} cannot resume without skipping records:\n  "
                                 + "\n  ".join(problems))


class StoredPositionsListener(ConsumerRebalanceListener):
    """Places every partition assigned to one subscriber's consumer (see the module's doc)."""

    def __init__(self, store: PositionStore, group: str, settle: Callable[[], Awaitable[None]],
                 on_problem: Callable[[TopicPartition, str | None], None], attempts: int = 30) -> None:
        self._store = store
        self._group = group
        self._settle = settle
        self._on_problem = on_problem
        self._attempts = attempts
        self._subscriber: Any = None

    def bind(self, subscriber: Any) -> None:
        """The FastStream subscriber whose consumer (built when it starts) this listener places."""
        self._subscriber = subscriber

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if not assigned:
            return
        consumer = self._subscriber.consumer
        for attempt in range(self._attempts):
            try:
                await self._place(consumer, sorted(assigned))
                return
            except Exception as exc:  # the database or the broker is away: wait, do not guess
                log.warning("cannot place the assigned partitions yet", group=self._group, error=repr(exc),
                            attempt=attempt + 1)
                await asyncio.sleep(1.0)
        consumer.pause(*assigned)
        for tp in assigned:
            self._on_problem(tp, "its stored position could not be read; paused until the next assignment")

    async def _place(self, consumer: Any, assigned: list[TopicPartition]) -> None:
        stored = await self._store.load(self._group, {tp.topic for tp in assigned})
        starts = await consumer.beginning_offsets(assigned)
        ends = await consumer.end_offsets(assigned)
        committed = await _committed(consumer, assigned)
        plans = {tp: start_of(tp, stored.get(tp), committed[tp], starts[tp], ends[tp]) for tp in assigned}
        rewind, forward, adopt = {}, {}, {}
        for tp, plan in plans.items():
            self._on_problem(tp, plan.problem)
            if plan.problem is not None:
                consumer.pause(tp)
                log.error("stored position lost; partition paused", group=self._group, topic=tp.topic,
                          partition=tp.partition, problem=plan.problem)
                continue
            if plan.seek is not None:
                # Where the consumer starts on its own (the committed offset, else the log's start: reset is
                # earliest) needs no seek: a seek after its first fetch would read that batch a second time.
                if plan.seek != (committed[tp] if committed[tp] is not None else starts[tp]):
                    consumer.seek(tp, plan.seek)
                if plan.commit:
                    (rewind if (committed[tp] or 0) > plan.seek else forward)[tp] = plan.seek
            if plan.adopt is not None:
                adopt[tp] = plan.adopt
        if rewind:
            log.warning("Kafka's committed offsets are ahead of the database (restored?): replaying",
                        group=self._group, partitions={f"{tp.topic}/{tp.partition}": (committed[tp], o)
                                                       for tp, o in rewind.items()})
            await consumer.commit(rewind)
        if forward:
            await self._settle()  # what the stored positions caused is published before Kafka says so
            await consumer.commit(forward)
        if adopt:
            await self._store.save(self._group, adopt)


async def _committed(consumer: Any, parts: list[TopicPartition]) -> dict[TopicPartition, int | None]:
    """The group's committed offsets of `parts` in one request (aiokafka's `committed()` asks per partition,
    and an assignment of twelve partitions comes in every rebalance)."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None:
        return dict(zip(parts, await asyncio.gather(*(consumer.committed(tp) for tp in parts))))
    found = await coordinator.fetch_committed_offsets(parts)
    return {tp: meta.offset if (meta := found.get(tp)) is not None and meta.offset >= 0 else None for tp in parts}
