"""Where a charged message's latency goes: usage ingest's part and balance's part.

The latency of `python -m bench` runs from a delivery status's scheduled publication to its debit's
commit. In between, usage ingest's outbox relay writes the message's priced usage: the relay builds
its record batches itself (`shared/outbox_publisher.py`) and aiokafka stamps each record with the
time it was appended (CreateTime), after usage ingest's transaction committed and before the broker
acknowledged it. That stamp splits the latency in two without any hook in the services:

- *ingest*: publication → priced usage relayed (fetch, usage ingest's transaction, the relay);
- *balance*: relayed → debit committed (the broker's acknowledgement, balance's fetch and transaction).
"""

from collections.abc import Mapping, Sequence

import msgspec
from aiokafka import TopicPartition

from shared.positions import KafkaPositions
from shared.settings import KafkaSettings
from shared.topics import USAGE_PRICED


class _Usage(msgspec.Struct):
    usage_id: str


_read = msgspec.json.Decoder(_Usage).decode


def _positions(bootstrap: str) -> KafkaPositions:
    return KafkaPositions(KafkaSettings(bootstrap_servers=bootstrap), "bench-hops")


async def ends(bootstrap: str) -> dict[int, int]:
    """The end offset of each partition of the priced usage topic now."""
    positions = _positions(bootstrap)
    try:
        return await positions.end_offsets(USAGE_PRICED.name)
    finally:
        await positions.close()


async def relayed_at(bootstrap: str, start: Mapping[int, int], prefix: str) -> dict[str, float]:
    """When each priced usage whose usage id starts with `prefix` was relayed (epoch seconds), reading
    the topic from `start` to its end now."""
    positions = _positions(bootstrap)
    try:
        stop = await positions.end_offsets(USAGE_PRICED.name)
        records = await positions.read({TopicPartition(USAGE_PRICED.name, p): start.get(p, 0) for p in stop},
                                       {TopicPartition(USAGE_PRICED.name, p): end for p, end in stop.items()})
    finally:
        await positions.close()
    out: dict[str, float] = {}
    for r in records:
        usage_id = _read(r.value).usage_id
        if usage_id.startswith(prefix):
            out.setdefault(usage_id, r.timestamp / 1000)  # a republished record keeps its first
    return out


def split(sent_at: Mapping[str, float], relayed: Mapping[str, float],
          committed: Mapping[str, float]) -> tuple[list[float], list[float]]:
    """The ingest and balance parts (seconds) of every message seen at both ends."""
    both: Sequence[str] = [m for m in sent_at if m in relayed and m in committed]
    return ([relayed[m] - sent_at[m] for m in both], [committed[m] - relayed[m] for m in both])
