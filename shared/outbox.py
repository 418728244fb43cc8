"""The transactional outbox: events are written with the state change they announce, then relayed.

A service inserts the records it wants to publish into its `outbox` table in
the same transaction as the change. The relay takes the oldest rows (locking
them, skipping rows another instance holds), publishes them, waits for the
broker's acknowledgement, and deletes them in the same transaction. A crash
between the publish and the commit publishes the rows again: every record
carries a stable business id, and its consumer deduplicates on it. On the
topics it is told to `track`, the relay also records how far its publications
reach (`shared/published_positions.py`).
"""

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

import asyncpg

from . import published_positions
from .logging import get_logger

log = get_logger(__name__)

# publish(records) → metadata from the broker (topic, partition, offset: at least the last record of each
# partition; `published_positions.reach` takes the highest), once it acknowledged every one of them.
PublishBatch = Callable[[Sequence["OutboxRecord"]], Awaitable[Sequence[object]]]


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    topic: str
    key: bytes | None
    value: bytes


async def enqueue(conn: asyncpg.Connection, records: Sequence[OutboxRecord]) -> None:
    """Add records to the outbox inside the caller's transaction."""
    if records:
        await conn.execute(
            "INSERT INTO outbox (topic, key, value) "
            "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[])",
            [r.topic for r in records], [r.key for r in records], [r.value for r in records])


class OutboxRelay:
    """Publishes the outbox in id order, in batches, until stopped."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], publish: PublishBatch, batch: int = 1000,
                 idle_s: float = 1.0,
                 on_published: Callable[[Sequence["OutboxRecord"]], None] | None = None,
                 track: Collection[str] = ()) -> None:
        """`on_published` sees each batch once the broker has it and its rows are deleted (metrics, logs);
        on the topics of `track`, the reach of what was published is recorded with the deletion."""
        self._pool = pool
        self._track = frozenset(track)
        self._on_published = on_published
        self._publish = publish
        self._batch = batch
        self._idle_s = idle_s
        self._wake = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Something was committed to the outbox: relay it now rather than at the next poll."""
        self._wake.set()

    async def drain(self) -> None:
        """Publish everything this instance can lock now, and return once the broker has it.

        A handler calls this after its transaction and before its offsets are
        committed, so that a consumer group's committed offsets also mean "what
        these records caused is published": the month-close barrier relies on it.
        """
        while await self.relay_once() == self._batch:
            pass

    async def run(self) -> None:
        while True:
            try:
                sent = await self.relay_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError,
                    RuntimeError) as exc:
                log.warning("outbox relay failed; retrying", error=repr(exc))
                sent = 0
                await asyncio.sleep(self._idle_s)
            if sent < self._batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle_s)
                except TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """Publish and delete one batch of the oldest rows; return how many."""
        async with self._pool().acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch)
            if not rows:
                return 0
            records = [OutboxRecord(r["topic"], r["key"], r["value"]) for r in rows]
            published = await self._publish(records)
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
            if self._track:
                await published_positions.advance(conn, published_positions.reach(published, self._track))
        self.published += len(rows)
        if self._on_published is not None:
            try:
                self._on_published(records)
            except Exception:  # observing must never stop publishing
                log.exception("observing published records failed")
        return len(rows)

    async def pending(self) -> int:
        """Rows waiting to be published (a gauge: a growing outbox means publishing is stuck)."""
        return await self._pool().fetchval("SELECT count(*) FROM outbox")
