"""The database server lost with its disk, and restored: from last night's base backup alone, or to a moment in
the middle of a month close. The services replay what the database lacks, invoicing takes back what it had
published, and the month ends as if nothing had happened."""

import asyncio
import json
from datetime import UTC, datetime

from deploy.stack import backup
from shared.months import previous_month
from shared.topics import COMMANDS

from ..kafka_io import publish
from ..pipeline import connect, start_services
from .disaster import assert_same_as_without_the_disaster, balance_events, destroy, published_numbers, restore
from .month import CHARGED_MESSAGES, debits_so_far, flow, month_under_way, request_close, some_debited, until
from .outcome import INVOICES_EXPECTED, assert_exact_outcome

async def test_a_database_restored_from_a_base_backup_without_the_wal_after_it_replays_the_rest_of_the_month(
        restore_stack, restorable, unique, tmp_path):
    """The base backup is taken while the month's statuses flow, before its payments; the month goes on and
    closes, its invoices are published; the server dies with its disk and its archive. Restored from the
    backup alone and restarted, the services replay the rest of the month from the positions the backup
    holds: the same ledger, the same balance events (the payments' are derived again under their ids), the
    same invoices, numbered as published."""
    stack, s = restorable, restore_stack.settings
    fm, services = await month_under_way(stack, unique, tmp_path)
    half = len(fm.statuses) // 2
    await flow(stack, fm, chunks=4, pause_s=0.1, statuses=fm.statuses[:half], payments=[])
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month", timeout_s=120)
    await asyncio.to_thread(backup.backup, s)
    await flow(stack, fm, chunks=4, pause_s=0.1, statuses=fm.statuses[half:])
    await request_close(stack, fm)
    await until(lambda: _all_invoiced(stack, fm), "the month is closed and its invoices published", timeout_s=150)
    events, numbers = await balance_events(stack, fm), await published_numbers(stack, fm)

    await asyncio.to_thread(destroy, s, services)
    await restore(s, stack, base_only=True)
    services = start_services(stack, unique, tmp_path)
    await until(lambda: _replayed(stack, fm), "the services have replayed the month", timeout_s=150)

    await assert_exact_outcome(stack, fm)
    await assert_same_as_without_the_disaster(stack, fm, events, numbers)
    assert [s.terminate() for s in services] == [0, 0, 0]


async def test_a_database_restored_to_a_moment_in_the_middle_of_a_month_close_finishes_the_close_once(
        restore_stack, restorable, unique, tmp_path):
    """Balance is behind (stopped) when the close is asked, so the close waits at its barrier for the debits;
    the database is recovered from the archive to that moment after the close had finished. Balance reads
    the ledger's close again before the debits it closes, and waits for them (the command carries its
    barrier); invoicing issues nothing twice."""
    stack, s = restorable, restore_stack.settings
    await asyncio.to_thread(backup.backup, s)
    fm, (ingest, balance, invoicing) = await month_under_way(stack, unique, tmp_path)
    # Months close in order and each needs balance: every month before this one is closed first. This fresh
    # database replays every month closed before on the restore cases' broker (conftest.py), each with its
    # invoices' documents (some 0.3 CPU-s each), before the case itself begins.
    await publish(stack.bootstrap, COMMANDS.name, [_close_command(f"before-{unique}", previous_month(fm.month))])
    await until(lambda: _no_close_pending(stack, previous_month(fm.month)), "the months before are closed",
                timeout_s=420)
    half = len(fm.statuses) // 2
    await flow(stack, fm, chunks=2, pause_s=0, statuses=fm.statuses[:half])
    await until(lambda: some_debited(stack, fm), "balance has debited part of the month", timeout_s=120)
    assert balance.terminate() == 0
    await flow(stack, fm, chunks=2, pause_s=0, statuses=fm.statuses[half:], payments=[])
    await request_close(stack, fm)
    await until(lambda: _close_is(stack, fm, "debits"), "the close waits for balance's debits")
    middle = datetime.now(UTC)
    await asyncio.to_thread(balance.start)
    await until(lambda: _all_invoiced(stack, fm), "the month is closed and its invoices published", timeout_s=150)
    events, numbers = await balance_events(stack, fm), await published_numbers(stack, fm)
    await asyncio.to_thread(backup.archive_now, s)

    await asyncio.to_thread(destroy, s, (ingest, balance, invoicing))
    await restore(s, stack, to=middle)
    assert await _close_state(stack, fm) == "debits", "recovered to the middle of the close"
    services = start_services(stack, unique, tmp_path)
    await until(lambda: _replayed(stack, fm), "the services have replayed the month", timeout_s=150)

    await assert_exact_outcome(stack, fm)
    await assert_same_as_without_the_disaster(stack, fm, events, numbers)
    assert [s.terminate() for s in services] == [0, 0, 0]


async def _close_state(stack, fm) -> str | None:
    conn = await connect(stack)
    try:
        return await conn.fetchval("SELECT state FROM invoicing.closes WHERE month = $1", fm.month)
    finally:
        await conn.close()


async def _close_is(stack, fm, state: str) -> bool:
    return await _close_state(stack, fm) == state


def _close_command(command_id: str, month: str) -> tuple[bytes, bytes]:
    return month.encode(), json.dumps({"type": "month.close", "command_id": command_id, "month": month}).encode()


async def _no_close_pending(stack, through: str) -> bool:
    """Every month up to `through` is closed."""
    conn = await connect(stack)
    try:
        done = await conn.fetchval("SELECT state = 'done' FROM invoicing.closes WHERE month = $1", through)
        return bool(done) and not await conn.fetchval("SELECT count(*) FROM invoicing.closes WHERE state <> 'done'")
    finally:
        await conn.close()


async def _all_invoiced(stack, fm) -> bool:
    """The close is done and every one of its invoices has left the outbox."""
    if await _close_state(stack, fm) != "done":
        return False
    conn = await connect(stack)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM invoicing.invoices WHERE partner_id = ANY($1)",
            [fm.id("P"), fm.id("Q")]) == len(INVOICES_EXPECTED) and not await conn.fetchval(
            "SELECT count(*) FROM invoicing.outbox")
    finally:
        await conn.close()


async def _replayed(stack, fm) -> bool:
    """The month's invoices are on the topic before the restore: the outcome is judged once the services have
    replayed it all (every debit and payment in the ledger, the close done again, every outbox empty)."""
    if await debits_so_far(stack, fm) < CHARGED_MESSAGES or not await _all_invoiced(stack, fm):
        return False
    conn = await connect(stack)
    try:
        payments = await conn.fetchval("SELECT count(*) FROM balance.ledger WHERE kind = 'payment' AND business_id "
                                       "LIKE $1", f"{fm.unique}-%")
        pending = await conn.fetchval("SELECT (SELECT count(*) FROM usage_ingest.outbox) + "
                                      "(SELECT count(*) FROM balance.outbox)")
    finally:
        await conn.close()
    return payments == len(fm.payments) and pending == 0
