"""How far a service's own publications reach on the topics it keeps the record of.

Invoicing numbers what it publishes on `billing.invoices.v1`; after its
database is restored from a backup, the invoices published since are on that
topic and nowhere else. The outbox relay moves, per partition, the offset
after the last record it published there (in the transaction that deletes
what the broker acknowledged), and the first start sets it to where each
partition ends. An invoice missing from a restored database was committed
after the backup, so published after it, so at or after these offsets: a
restore reads on from here (services/invoicing/recovery.py).

Every record the relay publishes there carries the database's origin in a
header, so that what another database published on the same topic is never
taken for this one's.
"""

from collections.abc import Iterable, Mapping, Sequence

import asyncpg
from aiokafka import TopicPartition


ORIGIN_HEADER = "billing-origin"


async def origin(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """This database's origin (the `publisher` table)."""
    return await conn.fetchval("SELECT origin::text FROM publisher")


def published_by(headers: Sequence[tuple[str, bytes]] | None, origin: str) -> bool:
    """Whether a record's headers name `origin` as its publisher."""
    return any(k == ORIGIN_HEADER and v == origin.encode() for k, v in headers or ())


def reach(published: Iterable[object], topics: frozenset[str]) -> dict[TopicPartition, int]:
    """The next offset after the records published on `topics` (each the broker's RecordMetadata)."""
    out: dict[TopicPartition, int] = {}
    for meta in published:
        topic, partition, offset = (getattr(meta, a, None) for a in ("topic", "partition", "offset"))
        if topic in topics and isinstance(offset, int) and isinstance(partition, int):
            tp = TopicPartition(topic, partition)
            out[tp] = max(out.get(tp, 0), offset + 1)
    return out


async def advance(conn: asyncpg.Connection, positions: Mapping[TopicPartition, int], only_new: bool = False) -> None:
    """Move the recorded reach forward (never back); `only_new` records partitions not recorded yet only
    (the first start's baseline)."""
    if not positions:
        return
    ordered = sorted(positions.items())
    update = "NOTHING" if only_new else "UPDATE SET next_offset = greatest(p.next_offset, excluded.next_offset)"
    await conn.execute(
        "INSERT INTO published_positions AS p (topic, partition, next_offset, since_offset) "
        "SELECT t, p, o, o FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(t, p, o) "
        f"ON CONFLICT (topic, partition) DO {update}",
        [tp.topic for tp, _ in ordered], [tp.partition for tp, _ in ordered], [o for _, o in ordered])


async def recorded(conn: asyncpg.Connection | asyncpg.Pool, topics: Iterable[str]) -> dict[TopicPartition, int]:
    rows = await conn.fetch("SELECT topic, partition, next_offset FROM published_positions WHERE topic = ANY($1)",
                            sorted(set(topics)))
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
