"""Late-2026 traffic on the real broker and database: voice, groups, tiered portfolios, usage ingest SIGKILLed
mid-batch, and every amount exact to the micro-unit with the reconciliation clean."""

import asyncio
import json
from collections import Counter
from decimal import Decimal

from ops.reconcile import reconcile
from shared.contracts import PricedUsage
from shared.topics import DIRECTORY, MESSAGE_STATUS, RATECARDS, USAGE_PRICED

from .kafka_io import collect, publish
from .meta2026_scenario import PARTICIPANT_KEY, Burst, burst
from .pipeline import connect, service


async def charged(stack, ids: list[str]) -> int:
    conn = await connect(stack)
    try:
        return await conn.fetchval("SELECT count(*) FROM usage_ingest.messages WHERE outcome = 'charged' "
                                   "AND message_id = ANY($1::text[])", ids)
    finally:
        await conn.close()


async def until_charged(stack, ids: list[str], at_least: int, timeout_s: float) -> int:
    for _ in range(int(timeout_s / 0.05)):
        done = await charged(stack, ids)
        if done >= at_least:
            return done
        await asyncio.sleep(0.05)
    return await charged(stack, ids)


async def test_a_2026_burst_with_a_sigkill_mid_batch_charges_every_participant_and_band_exactly(
        own_database, unique, tmp_path):
    """A shuffled, duplicated burst of voice, group and tiered traffic; usage ingest killed while it charges;
    after a restart: every unit charged once, each volume count's amounts exactly its bands', every other
    amount its rate, each balance the exact sum, the tier counts right and the reconciliation clean."""
    stack, b = own_database, burst(unique)
    ids = list(b.owner)
    key = {"PARTICIPANT_KEY": PARTICIPANT_KEY}
    await publish(stack.bootstrap, RATECARDS.name, b.ratecards)
    await publish(stack.bootstrap, DIRECTORY.name, b.directory)
    others = [service(stack, unique, name, tmp_path).spawn() for name in ("balance", "invoicing")]
    others = [s.wait_ready() for s in others]
    first = service(stack, unique, "usage_ingest", tmp_path, "-first", BATCH_MAX_RECORDS="50", **key).start()
    try:
        await publish(stack.bootstrap, MESSAGE_STATUS.name, b.statuses)
        at_kill = await until_charged(stack, ids, 1, 60)
        first.kill()  # SIGKILL: no shutdown, the batch in hand neither committed nor acknowledged
        assert 0 < at_kill < len(ids), "killed while charging"
        with service(stack, unique, "usage_ingest", tmp_path, "-second", **key):
            assert await until_charged(stack, ids, len(ids), 120) == len(ids)
            usage = await priced(stack, set(ids))
            balances = await settled_balances(stack, b, usage)
            checks = await reconcile(stack.db, settle_s=60)
            counts = await tier_counts(stack, unique)
    finally:
        assert [s.terminate() for s in others] == [0, 0]

    assert set(usage) == set(ids), "every delivered unit charged, nothing else"
    for mid, amount in b.fixed.items():
        assert usage[mid].amount == amount, mid
    for k, members in b.tiered().items():
        got = sorted(usage[m].amount for m in members)
        assert got == b.tier_amounts(k), k
        assert all(usage[m].rate == usage[m].amount and usage[m].tier_from is not None for m in members)
    for owner, amount in balances.items():
        assert amount == -sum((usage[m].amount for m in ids if b.owner[m] == owner), Decimal(0)), owner
    dp = [o for o in balances if o.endswith("CH")]
    assert sum(balances[o] for o in dp) == -sum(sum(b.tier_amounts(k)) for k in b.tiered() if k[0].endswith("bp2"))
    assert counts == Counter(b.key.values())
    problems = [(c.name, p) for c in checks for p in c.problems
                if c.name != "every charged message is debited exactly once" or unique in p]
    assert problems == [], "the reconciliation passes"


async def priced(stack, ids: set[str]) -> dict[str, PricedUsage]:
    """The priced usage of `ids`; a unit published twice (the kill) is the same record both times."""
    records = await collect(stack.bootstrap, USAGE_PRICED.name, lambda r: json.loads(r.value)["usage_id"] in ids,
                            len(ids), timeout_s=90, identity=lambda r: json.loads(r.value)["usage_id"])
    out: dict[str, PricedUsage] = {}
    for r in records:
        u = PricedUsage.model_validate_json(r.value)
        assert out.setdefault(u.usage_id, u) == u, f"two different charges for {u.usage_id}"
    return out


async def settled_balances(stack, b: Burst, usage: dict[str, PricedUsage]) -> dict[str, Decimal]:
    """Every balance of the burst once balance has debited all of its usage."""
    owners = sorted(set(b.owner.values()))
    conn = await connect(stack)
    try:
        for _ in range(1200):
            debited = await conn.fetchval("SELECT count(*) FROM balance.ledger WHERE kind = 'usage' AND "
                                          "business_id = ANY($1::text[])", list(usage))
            if debited == len(usage):
                break
            await asyncio.sleep(0.1)
        rows = await conn.fetch("SELECT owner_id, amount FROM balance.balances WHERE owner_id = ANY($1)", owners)
    finally:
        await conn.close()
    return {r["owner_id"]: r["amount"] for r in rows}


async def tier_counts(stack, unique: str) -> Counter:
    conn = await connect(stack)
    try:
        rows = await conn.fetch("SELECT portfolio_id, market, category, usage_month, charged "
                                "FROM usage_ingest.tier_counts WHERE portfolio_id LIKE $1", f"{unique}%")
    finally:
        await conn.close()
    return Counter({(r["portfolio_id"], r["market"], r["category"], r["usage_month"]): r["charged"] for r in rows})
