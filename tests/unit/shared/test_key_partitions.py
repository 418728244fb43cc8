"""A key's partition is the one Kafka's default partitioner picks, remembered in a bounded table."""

import random

from aiokafka.partitioner import DefaultPartitioner, murmur2

from shared.key_partitions import KeyPartitions

# Kafka's own test vectors of `Utils.murmur2` (clients' UtilsTest), signed as Java returns them.
JAVA_MURMUR2 = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
                b"a-little-bit-longer-string": -1486304829, b"abc": 479470107,
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971}


def signed(h: int) -> int:
    return h - 2**32 if h >= 2**31 else h


def keys(n: int) -> list[bytes]:
    """Keys shaped like ours (balances, channels, months, invoices) and arbitrary bytes of every length."""
    rng = random.Random(16)
    shaped = [f"{p}-{i}".encode() for p in ("partner", "channel", "client", "inv-2026-11") for i in range(n // 8)]
    raw = [rng.randbytes(rng.randrange(0, 64)) for _ in range(n // 2)]
    return shaped + raw + [b"2026-11", "çå-ü".encode()]


def test_the_hash_is_javas_murmur2():
    """The hash under the rule gives Kafka's Java test vectors, so Java clients put a key where we do."""
    assert {k: signed(murmur2(k)) for k in JAVA_MURMUR2} == JAVA_MURMUR2


def test_every_key_goes_where_the_default_partitioner_sends_it():
    """Over 20,000 keys and the partition counts of our topics, the partition equals aiokafka's default's."""
    default = DefaultPartitioner()
    for count in (1, 3, 6, 12, 24):
        partitions, table = list(range(count)), KeyPartitions()
        for key in keys(20_000):
            assert table.of(key, set(partitions)) == default(key, partitions, partitions), (key, count)


def test_a_remembered_key_stays_put_and_the_table_stays_bounded():
    """Asking again gives the same partition, also after the table was emptied for being full."""
    table = KeyPartitions(limit=100)
    first = {k: table.of(k, range(12)) for k in keys(1_000)}
    assert len(table._known) <= 100
    assert {k: table.of(k, range(12)) for k in first} == first


def test_a_record_without_a_key_goes_to_one_of_the_partitions():
    """As aiokafka sends it: anywhere among the topic's partitions."""
    assert {KeyPartitions().of(None, range(3)) for _ in range(200)} == {0, 1, 2}
