"""The broker or the database goes away while statuses and payments flow, and comes back."""

import asyncio

from ..pipeline import connect
from .month import debits_so_far, flow, month_under_way, more_debited_than, request_close, some_debited, until
from .outcome import assert_exact_outcome


async def test_the_kafka_broker_stopped_and_restarted_mid_month_loses_and_doubles_nothing(
        fault_stack, faulty, unique, tmp_path):
    """Half the month flows, the broker stops for a few seconds while the services are busy with it,
    comes back, and the rest follows: the services ride it out and the month is exact."""
    stack = faulty
    fm, services = await month_under_way(stack, unique, tmp_path)
    half = len(fm.statuses) // 2
    await flow(stack, fm, chunks=4, pause_s=0.05, statuses=fm.statuses[:half])
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month")
    await asyncio.to_thread(fault_stack.stop_kafka)
    try:
        await asyncio.sleep(5)
    finally:
        await asyncio.to_thread(fault_stack.start_kafka)
    await flow(stack, fm, chunks=4, pause_s=0.05, statuses=fm.statuses[half:], payments=[])
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    assert all(s.alive for s in services), "no service gave up while the broker was away"
    assert [s.terminate() for s in services] == [0, 0, 0]


async def test_postgresql_restarted_and_its_connections_cut_mid_month_loses_and_doubles_nothing(
        fault_stack, faulty, unique, tmp_path):
    """While the month flows, PostgreSQL is restarted; later every service connection is cut. Batches
    in hand fail, are read again, and apply once."""
    stack = faulty
    fm, services = await month_under_way(stack, unique, tmp_path)
    traffic = asyncio.create_task(flow(stack, fm, chunks=16, pause_s=0.3))
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month")
    await asyncio.to_thread(fault_stack.stop_postgres)
    try:
        await asyncio.sleep(3)
    finally:
        await asyncio.to_thread(fault_stack.start_postgres)
    before = await debits_so_far(stack, fm)
    await until(more_debited_than(stack, fm, before), "balance debits again after the restart")
    await _cut_service_connections(stack)
    await traffic
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    assert all(s.alive for s in services), "no service gave up while the database was away"
    assert [s.terminate() for s in services] == [0, 0, 0]



async def _cut_service_connections(stack) -> None:
    conn = await connect(stack)
    try:
        cut = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name LIKE 'billing-%' AND datname = current_database()")
    finally:
        await conn.close()
    assert cut > 0, "the services were connected"
