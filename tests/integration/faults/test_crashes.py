"""SIGKILL of each service in the middle of its work, then a restart: the same month, to the cent."""

import asyncio

from ..pipeline import until_close_state
from .month import (CHARGED_MESSAGES, charged_so_far, debits_so_far, flow, month_under_way, request_close,
                    until)
from .outcome import assert_exact_outcome

SMALL_BATCHES = {"BATCH_MAX_RECORDS": "40"}  # many batches, so that a kill lands inside one


async def test_each_service_killed_mid_batch_and_restarted_ends_with_the_exact_month(faulty, unique, tmp_path):
    """Usage ingest is killed with some messages charged, balance with some debited, both while statuses
    still arrive; invoicing while the month closes. Each restarts in its group: no charge is lost or
    doubled, every invoice is issued once under one number."""
    stack = faulty
    fm, (ingest, balance, invoicing) = await month_under_way(stack, unique, tmp_path, **SMALL_BATCHES)
    traffic = asyncio.create_task(flow(stack, fm, chunks=16, pause_s=0.3))

    async def some_charged() -> bool:
        return 0 < await charged_so_far(stack, fm) < CHARGED_MESSAGES

    async def some_debited() -> bool:
        return 0 < await debits_so_far(stack, fm) < CHARGED_MESSAGES

    await until(some_charged, "usage ingest has charged part of the month")
    ingest = await _killed_and_restarted(ingest)
    await until(some_debited, "balance has debited part of the month")
    balance = await _killed_and_restarted(balance)
    await traffic
    await request_close(stack, fm)
    await until_close_state(stack, fm.month, ("debits", "ledger", "done"))
    invoicing = await _killed_and_restarted(invoicing)

    await assert_exact_outcome(stack, fm)
    assert [s.terminate() for s in (ingest, balance, invoicing)] == [0, 0, 0]


async def _killed_and_restarted(service):
    service.kill()
    return await asyncio.to_thread(service.start)  # the traffic keeps flowing meanwhile
