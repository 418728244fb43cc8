"""A database server lost and restored, and what must then hold beyond the literal outcome: the same balance
events, the ledger's closings as the invoices say, every published invoice in the database, no number reused."""

import asyncio
import json
import os
import shutil
import signal
from decimal import Decimal

from deploy.stack import backup, postgres
from deploy.stack.process import read_pid
from ops.positions import compare
from ops.reconcile import reconcile
from shared.settings import KafkaSettings
from shared.topics import BALANCE_EVENTS, INVOICES

from ..kafka_io import read_to_end
from ..pipeline import connect
from .month import FaultMonth
from .outcome import SUMMARIES


def destroy(s, services) -> None:
    """The server dies with its disk: every service killed, the postmaster killed, its data folder gone."""
    for service in services:
        service.kill()
    pid = read_pid(postgres.data_dir(s) / "postmaster.pid")
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(postgres.data_dir(s))


async def restore(s, stack, **how) -> backup.Backup:
    """`billing-stack restore` as the runbook runs it: the server back, then the groups' offsets set back to
    the positions the case's database stored."""
    chosen = await asyncio.to_thread(backup.restore, s, **how)
    await compare(stack.db, KafkaSettings(bootstrap_servers=stack.bootstrap), rewind=True)
    return chosen


async def balance_events(stack, fm: FaultMonth) -> dict[str, set[str]]:
    """event id → the types published under it, for the month's balances."""
    owners = {fm.id(r) for r in ("P", "D", "E")}
    found: dict[str, set[str]] = {}
    for r in await read_to_end(stack.bootstrap, BALANCE_EVENTS.name, lambda r: (r.key or b"").decode() in owners):
        event = json.loads(r.value)
        found.setdefault(event["event_id"], set()).add(event["type"])
    return found


async def published_numbers(stack, fm: FaultMonth) -> dict[str, str]:
    """invoice id → number, of the month's invoices on the topic."""
    partners = (fm.id("P"), fm.id("Q"))
    records = await read_to_end(stack.bootstrap, INVOICES.name, lambda r: json.loads(r.value)["partner_id"] in partners)
    return {json.loads(r.value)["invoice_id"]: json.loads(r.value)["number"] for r in records}


async def assert_same_as_without_the_disaster(stack, fm: FaultMonth, events: dict[str, set[str]],
                                              numbers: dict[str, str]) -> None:
    """What the literal outcome does not say: the balance events are the ones published before the disaster
    (same ids, none new), the ledger closed the month with the summaries its invoices show, every invoice
    published before the disaster kept its number, and the invoices topic matches the database."""
    assert await balance_events(stack, fm) == events, "the same balance events, under the same ids"
    conn = await connect(stack)
    try:
        rows = await conn.fetch("SELECT owner_id, closing::text FROM balance.closings WHERE month = $1", fm.month)
        stored = {r["invoice_id"]: r["number"] for r in await conn.fetch(
            "SELECT invoice_id::text, number FROM invoicing.invoices WHERE invoice_id::text = ANY($1)", list(numbers))}
    finally:
        await conn.close()
    closings = {r["owner_id"].removeprefix(fm.unique): json.loads(r["closing"]) for r in rows}
    assert {owner: {k: Decimal(c[k]) for k in SUMMARIES[owner]} for owner, c in closings.items()
            if owner in SUMMARIES} == {owner: {k: Decimal(v) for k, v in s.items()} for owner, s in SUMMARIES.items()}, \
        "the ledger closed the month as its invoices say"
    assert stored == numbers, "every invoice published before the disaster is in the database under its number"
    checks = await reconcile(stack.db, settle_s=30, kafka=KafkaSettings(bootstrap_servers=stack.bootstrap))
    assert [(c.name, p) for c in checks for p in c.problems] == [], "the reconciliation, topic included, passes"
