"""Each consumer group's positions, kept in the service's own database with the effects they cover.

Kafka's committed offsets live in the broker, ahead of a database restored from
a backup: trusting them would skip, for ever, every batch consumed between the
backup and the disaster. So the batch frame (`shared/consumer.py`) puts the
batch's positions (the next offset of every partition it read) in a context
variable, and a service's unit of work writes them in the same transaction as
the batch's effects (`transaction` below: one line of wiring per service). A
batch that opened no transaction (every record refused) stores them in one of
its own once its dead letters are sent. On every partition assignment the
consumer starts from the database's position (`shared/rebalance.py`); Kafka's
committed offsets are a hint.

Positions only grow (`greatest`): two instances finishing one partition's batch
during a rebalance cannot move it back. A restore moves them back, with the
effects they cover.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition

from .logging import get_logger

log = get_logger(__name__)

Positions = dict[TopicPartition, int]


@dataclass
class BatchPositions:
    """The batch in hand: its group, the next offset of each partition it read, and whether a committed
    transaction has stored them."""

    group: str
    next_offsets: Positions = field(default_factory=dict)
    stored: bool = False


_BATCH: ContextVar[BatchPositions | None] = ContextVar("billing_batch_positions", default=None)


def next_offsets(records: Iterable[ConsumerRecord]) -> Positions:
    out: Positions = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        out[tp] = max(out.get(tp, 0), r.offset + 1)
    return out


@contextmanager
def batch(group: str, records: Iterable[ConsumerRecord]) -> Iterator[BatchPositions]:
    """While the block runs, every `transaction` also stores these records' positions."""
    positions = BatchPositions(group, next_offsets(records))
    token = _BATCH.set(positions)
    try:
        yield positions
    finally:
        _BATCH.reset(token)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a pooled connection that, inside a batch, also stores the batch's positions
    before it commits (a unit of work's one line of wiring)."""
    current = _BATCH.get()
    async with pool.acquire() as conn:
        async with conn.transaction():
            yield conn
            if current is not None:
                await save(conn, current.group, current.next_offsets)
        if current is not None:
            current.stored = True


async def save(conn: asyncpg.Connection | asyncpg.Pool, group: str, positions: Mapping[TopicPartition, int]) -> None:
    """Upsert positions, in a fixed order (two instances' transactions lock the rows alike)."""
    if not positions:
        return
    ordered = sorted(positions.items())
    await conn.execute(
        "INSERT INTO consumed_positions AS p (group_id, topic, partition, next_offset) "
        "SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[]) "
        "ON CONFLICT (group_id, topic, partition) "
        "DO UPDATE SET next_offset = greatest(p.next_offset, excluded.next_offset)",
        group, [tp.topic for tp, _ in ordered], [tp.partition for tp, _ in ordered], [o for _, o in ordered])


class PositionStore:
    """The `consumed_positions` table of one service's schema."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    async def load(self, group: str, topics: Iterable[str]) -> Positions:
        rows = await self._pool().fetch(
            "SELECT topic, partition, next_offset FROM consumed_positions WHERE group_id = $1 "
            "AND topic = ANY($2::text[])", group, sorted(set(topics)))
        return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def save(self, group: str, positions: Mapping[TopicPartition, int]) -> None:
        """In a transaction of its own (a batch that wrote nothing else, a hint adopted)."""
        await save(self._pool(), group, positions)


class Interrupted(RuntimeError):
    """The service stops while a batch waits: the batch is left uncommitted, to be read again."""


async def wait_until_read(store: PositionStore, group: str, barrier: Mapping[str, Mapping[int, int]] | None,
                          timeout_s: float = 120.0, poll_s: float = 0.5,
                          stopping: asyncio.Event | None = None) -> None:
    """Return once `group`'s stored positions reach `barrier` (topic → partition → offset): everything
    before it has its effects committed. A database restored from a backup replays its topics side by side,
    so a command that was published after them can be read again before them; it waits here. After
    `timeout_s` it raises, and the batch is read again; when `stopping` is set it gives up at once."""
    wanted = {TopicPartition(topic, p): o for topic, parts in (barrier or {}).items() for p, o in parts.items() if o}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    waited = False
    while True:
        stored = await store.load(group, {tp.topic for tp in wanted}) if wanted else {}
        behind = {tp: o for tp, o in wanted.items() if stored.get(tp, 0) < o}
        if not behind:
            if waited:
                log.info("read up to the barrier", group=group)
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{group} has not read up to {_named(behind)} after {timeout_s:.0f}s")
        if stopping is not None and stopping.is_set():
            raise Interrupted(f"{group} stops while waiting to read up to {_named(behind)}")
        if not waited:
            log.warning("waiting to read up to a barrier (replaying after a restore?)", group=group,
                        behind=_named(behind))
            waited = True
        await asyncio.sleep(poll_s)


def _named(positions: Mapping[TopicPartition, int]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}@{o}" for tp, o in sorted(positions.items())[:5])
