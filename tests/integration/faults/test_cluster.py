"""The month on a replicated cluster (three KRaft nodes, three copies, two in sync): the node leading the
month's partitions is killed and comes back later; a node is stopped and never comes back. Producers wait
for every in-sync copy (acks=all), so no acknowledged record is lost: the month is exact either way."""

import asyncio
from collections import Counter

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

from shared.topics import MESSAGE_STATUS, USAGE_PRICED

from .month import (FaultMonth, debits_so_far, flow, month_under_way, more_debited_than, request_close,
                    some_debited, until)
from .outcome import assert_exact_outcome

SMALL_BATCHES = {"BATCH_MAX_RECORDS": "40"}


def partition_of(key: str, partitions: int) -> int:
    """Where the default partitioner puts a key (murmur2, as the Java client)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


async def busiest_leader(bootstrap: str, fm: FaultMonth) -> int:
    """The node leading most of the partitions the month's statuses (by channel) and priced usage (by
    balance) go to."""
    used = {(MESSAGE_STATUS.name, partition_of(fm.id(c), MESSAGE_STATUS.partitions)) for c in "ABDE"}
    used |= {(USAGE_PRICED.name, partition_of(fm.id(b), USAGE_PRICED.partitions)) for b in "PDE"}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([MESSAGE_STATUS.name, USAGE_PRICED.name])
    finally:
        await admin.close()
    leaders = Counter(p["leader"] for t in described for p in t["partitions"] if (t["topic"], p["partition"]) in used)
    return leaders.most_common(1)[0][0]


async def test_the_node_leading_the_months_partitions_killed_mid_month_and_brought_back_loses_and_doubles_nothing(
        cluster, on_cluster, unique, tmp_path):
    """SIGKILL of the leader of the month's statuses and priced usage while both flow: the other two copies
    elect new leaders, producers and consumers follow them, and the node rejoins later."""
    stack = on_cluster
    fm, services = await month_under_way(stack, unique, tmp_path, **SMALL_BATCHES)
    traffic = asyncio.create_task(flow(stack, fm, chunks=16, pause_s=0.3))
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month")
    leader = await busiest_leader(stack.bootstrap, fm)
    await asyncio.to_thread(cluster.kill, leader)
    before = await debits_so_far(stack, fm)
    await traffic
    await until(more_debited_than(stack, fm, before), "balance debits on two nodes")
    back = asyncio.create_task(asyncio.to_thread(cluster.start, leader))  # rejoins while the month closes
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    await back
    assert all(s.alive for s in services), "no service gave up while a node was away"
    assert [s.terminate() for s in services] == [0, 0, 0]


async def test_a_node_stopped_for_good_mid_month_leaves_the_month_to_finish_on_two(cluster, on_cluster, unique,
                                                                                   tmp_path):
    """One node of three is stopped while the month flows and stays down: with two copies in sync, every
    write is still acknowledged and the month closes exactly."""
    stack = on_cluster
    fm, services = await month_under_way(stack, unique, tmp_path, **SMALL_BATCHES)
    traffic = asyncio.create_task(flow(stack, fm, chunks=16, pause_s=0.3))
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month")
    await asyncio.to_thread(cluster.stop, await busiest_leader(stack.bootstrap, fm))
    await traffic
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    assert all(s.alive for s in services), "no service gave up on two nodes"
    assert [s.terminate() for s in services] == [0, 0, 0]

