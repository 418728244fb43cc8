"""Which partition a keyed record goes to: Kafka's default rule, murmur2 of the key, remembered per key.

The outbox relay builds its batches per partition itself (`shared/outbox_publisher.py`), so it chooses
the partition instead of aiokafka's `send`. Consumers rely on key → partition (every record of a
balance in one partition, in order) and so may systems outside ours, with Java's or librdkafka's
`murmur2_random` partitioner: the rule must be exactly the default one (aiokafka's `DefaultPartitioner`,
which hashes as Java's `Utils.murmur2` does; `tests/unit/shared/test_key_partitions.py` holds them equal).
aiokafka's murmur2 is pure Python, a few microseconds a key; the keys repeat (balances, channels,
months), so each is hashed once per partition count and remembered, in a bounded table.
"""

import random
from collections.abc import Collection

from aiokafka.partitioner import murmur2

CACHED_KEYS = 100_000  # ~100 bytes each: some 10 MB at most


class KeyPartitions:
    """The partition of each key for a topic's partition count, as the default partitioner picks it."""

    def __init__(self, limit: int = CACHED_KEYS) -> None:
        self._limit = limit
        self._known: dict[tuple[bytes, int], int] = {}

    def of(self, key: bytes | None, partitions: Collection[int]) -> int:
        """`partitions` are the topic's (0 to n-1, as Kafka numbers them); a record without a key goes to
        any of them, as aiokafka sends it."""
        count = len(partitions)
        if key is None:
            return random.randrange(count)
        found = self._known.get((key, count))
        if found is None:
            if len(self._known) >= self._limit:
                self._known.clear()  # keys that were many are hashed again; cheaper than tracking age
            found = self._known[(key, count)] = (murmur2(key) & 0x7FFFFFFF) % count
        return found
