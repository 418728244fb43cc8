"""Input as it really comes: twice, out of order, and read by a group whose members come and go."""

import asyncio
import random

from ..pipeline import service
from .month import flow, month_under_way, request_close
from .outcome import assert_exact_outcome


async def test_the_month_published_twice_and_shuffled_is_billed_once(faulty, unique, tmp_path):
    """Every status and payment twice, in a random order (a delivery before its sent, a payment after
    the usage it pays for): the same balances and invoices as the month played once, in order."""
    stack = faulty
    fm, services = await month_under_way(stack, unique, tmp_path)
    shuffle = random.Random(unique).shuffle
    statuses, payments = fm.statuses * 2, fm.payments * 2
    shuffle(statuses)
    shuffle(payments)
    await flow(stack, fm, chunks=4, pause_s=0, statuses=statuses[:len(statuses) // 2], payments=[])
    await flow(stack, fm, chunks=4, pause_s=0, statuses=statuses[len(statuses) // 2:], payments=payments)
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    assert [s.terminate() for s in services] == [0, 0, 0]


async def test_a_second_instance_of_each_service_joining_and_leaving_mid_month_changes_nothing(
        faulty, unique, tmp_path):
    """While the month flows, a second instance of each service joins its group (partitions move to it)
    and later leaves (they move back): each charge, debit and invoice still happens exactly once."""
    stack = faulty
    fm, first = await month_under_way(stack, unique, tmp_path, BATCH_MAX_RECORDS="40")
    traffic = asyncio.create_task(flow(stack, fm, chunks=20, pause_s=0.4))
    await asyncio.sleep(1.5)
    second = [service(stack, unique, name, tmp_path, instance="-2", BATCH_MAX_RECORDS="40").spawn()
              for name in ("usage_ingest", "balance", "invoicing")]
    await asyncio.gather(*(asyncio.to_thread(s.wait_ready) for s in second))
    await asyncio.sleep(2)
    assert await asyncio.gather(*(asyncio.to_thread(s.terminate) for s in second)) == [0, 0, 0]
    await traffic
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    assert [s.terminate() for s in first] == [0, 0, 0]
