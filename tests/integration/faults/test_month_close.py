"""A close requested while the month's statuses are still in flight waits for them."""

import asyncio

from ..pipeline import a_long_month_after_every_close, connect, service
from .month import fault_month, publish_setup, publish_traffic, request_close, until
from .outcome import assert_exact_outcome


async def test_a_close_requested_before_its_statuses_are_consumed_waits_for_them(faulty, unique, tmp_path):
    """Usage ingest is down while the whole month and then its close are published: the close waits
    (nothing is invoiced) until ingest has consumed and balance debited every status published before
    it, and the month's invoices then hold all of it."""
    stack = faulty
    fm = fault_month(unique, await a_long_month_after_every_close(stack))
    balance, invoicing = (service(stack, unique, name, tmp_path).spawn() for name in ("balance", "invoicing"))
    running = [balance.wait_ready(), invoicing.wait_ready()]
    await publish_setup(stack, fm)
    await publish_traffic(stack, fm)
    await request_close(stack, fm)
    # Invoicing has the close once its consumer of commands is assigned: a service's inputs join its group
    # one after the other (a rebalance each), so that can take some seconds after it is ready.
    await until(lambda: _close_recorded(stack, fm.month), "invoicing has the close", timeout_s=60)
    await asyncio.sleep(4)
    assert await _close_state(stack, fm.month) == "barrier", "the close waits for the statuses before it"
    running.append(service(stack, unique, "usage_ingest", tmp_path).start())
    await assert_exact_outcome(stack, fm)
    assert [s.terminate() for s in running] == [0, 0, 0]


async def _close_recorded(stack, month: str) -> bool:
    return await _close_state(stack, month) is not None


async def _close_state(stack, month: str) -> str | None:
    conn = await connect(stack)
    try:
        return await conn.fetchval("SELECT state FROM invoicing.closes WHERE month = $1", month)
    finally:
        await conn.close()
