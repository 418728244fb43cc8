"""The ledger on the real broker and database: exact balances, each crossing announced once."""

import asyncio
import calendar
import json
import random
from decimal import Decimal

import asyncpg

from shared.contracts import BalanceClosing, DeadLetter, ErrorCode, LedgerClosed, PricedUsage, encode
from shared.topics import BALANCE_EVENTS, DIRECTORY, LEDGER_CLOSE, LEDGER_CLOSED, PAYMENTS, USAGE_PRICED
from shared.months import next_month
from tests.builders import channel, client, partner

from .conftest import service_env
from .kafka_io import collect, publish
from .processes import ServiceProcess

PREFIX = "BILLING_BALANCE_"


def balance_service(stack, group, tmp_path, name="balance", **env) -> ServiceProcess:
    settings = {f"{PREFIX}GROUP_ID": group, f"{PREFIX}BATCH_MAX_RECORDS": "300",
                f"{PREFIX}SWEEP_INTERVAL_S": "0.5", **{f"{PREFIX}{k.upper()}": v for k, v in env.items()}}
    return ServiceProcess("services.balance", service_env(stack, PREFIX, **settings), f"{PREFIX}HTTP_PORT",
                          tmp_path / f"{name}.log")


def usage(usage_id: str, owner: str, partner_id: str, channel_id: str, amount: str, model="partner_paid",
          currency="EUR", at="2026-10-10T10:00:00Z") -> tuple[bytes, bytes]:
    balance = {"partner_id": owner} if model == "partner_paid" else {"channel_id": owner}
    u = PricedUsage.model_validate({
        "usage_id": usage_id, "balance": balance, "partner_id": partner_id, "client_id": f"{partner_id}CL",
        "channel_id": channel_id, "billing_model": model, "currency": currency, "category": "marketing",
        "pricing_model": "PMP", "country": "DE", "market": "Germany", "ratecard_id": "rc", "rate": amount,
        "amount": amount, "billed_at": at, "usage_month": at[:7]})
    return owner.encode(), encode(u)


def payment(payment_id: str, account: dict, amount: str, currency="EUR", method="card",
            at="2026-10-05T08:00:00Z", topup_request_id=None) -> tuple[bytes, bytes]:
    owner = account.get("partner_id") or account.get("channel_id")
    return owner.encode(), json.dumps({
        "type": "payment.succeeded", "payment_id": payment_id, "account": account, "amount": amount,
        "currency": currency, "method": method, "paid_at": at, "topup_request_id": topup_request_id}).encode()


def refund(refund_id: str, account: dict, amount: str, currency="EUR", at="2026-10-20T08:00:00Z"):
    owner = account.get("partner_id") or account.get("channel_id")
    return owner.encode(), json.dumps({
        "type": "refund.succeeded", "refund_id": refund_id, "account": account, "amount": amount,
        "currency": currency, "refunded_at": at}).encode()


async def db(stack) -> asyncpg.Connection:
    return await asyncpg.connect(host=stack.db.host, port=stack.db.port, user=stack.db.user,
                                 password=stack.db.password.get_secret_value(), database=stack.db.name)


async def amounts(stack, owners: list[str]) -> dict[str, Decimal]:
    conn = await db(stack)
    try:
        rows = await conn.fetch("SELECT owner_id, amount FROM balance.balances WHERE owner_id = ANY($1)", owners)
        return {r["owner_id"]: r["amount"] for r in rows}
    finally:
        await conn.close()


async def ledger_mismatches(stack) -> list[str]:
    """Every balance equals the sum of its ledger entries."""
    conn = await db(stack)
    try:
        rows = await conn.fetch(
            "SELECT b.owner_id FROM balance.balances b LEFT JOIN (SELECT owner_id, sum(amount) AS s "
            "FROM balance.ledger GROUP BY owner_id) l USING (owner_id) WHERE b.amount <> coalesce(l.s, 0)")
        return [r["owner_id"] for r in rows]
    finally:
        await conn.close()


async def until(check, timeout_s=60.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def events_of(stack, owners: set[str], count: int, timeout_s=30.0) -> list[dict]:
    records = await collect(stack.bootstrap, BALANCE_EVENTS.name, lambda r: r.key.decode() in owners, count,
                            timeout_s=timeout_s, identity=lambda r: json.loads(r.value)["event_id"])
    return [json.loads(r.value) for r in records]


async def test_a_hot_balance_with_duplicates_and_a_kill_ends_exact_with_each_crossing_announced_once(
        stack, unique, tmp_path):
    """2,000 debits (each sent twice) on one Partner-Paid balance, the service killed mid-way: the balance
    is exactly what the inputs say, the ledger adds up, and low, top-up, depleted come once each."""
    pp = f"{unique}PA"
    renewal = {"enabled": True, "threshold": "50.00", "amount": "100.00"}
    group = f"test-{unique}"
    await publish(stack.bootstrap, DIRECTORY.name, [
        (pp.encode(), json.dumps(partner(pp, auto_renewal=renewal)).encode()),
        (pp.encode(), json.dumps(client(f"{pp}CL", pp)).encode()),
        *[(pp.encode(), json.dumps(channel(f"{unique}CH{i}", f"{pp}CL", pp)).encode()) for i in (1, 2)]])
    first = balance_service(stack, group, tmp_path, "first").start()
    await publish(stack.bootstrap, PAYMENTS.name, [payment(f"{unique}-pay1", {"partner_id": pp}, "100.00")])
    [restored] = await events_of(stack, {pp}, 1)
    assert restored["type"] == "balance.restored" and restored["balance_amount"] == "100.00"
    assert restored["channel_ids"] == [f"{unique}CH1", f"{unique}CH2"]

    debits = [usage(f"{unique}-m{i}", pp, pp, f"{unique}CH{i % 2 + 1}", "0.05") for i in range(2000)]
    doubled = debits + random.Random(3).sample(debits, len(debits))
    await publish(stack.bootstrap, USAGE_PRICED.name, doubled)
    assert await until(lambda: _some_debited(stack, pp), 30)
    first.proc.kill()
    first.proc.wait()
    with balance_service(stack, group, tmp_path, "second"):
        assert await until(lambda: _equals(stack, pp, Decimal("0")), 60), "100 - 2000 × 0.05"
        events = await events_of(stack, {pp}, 4)
        topup = next(e for e in events if e["type"] == "topup.requested")
        await publish(stack.bootstrap, PAYMENTS.name, [
            payment(f"{unique}-pay2", {"partner_id": pp}, "100.00", method="bank_transfer",
                    topup_request_id=topup["request_id"]),
            payment(f"{unique}-pay2", {"partner_id": pp}, "100.00", method="bank_transfer",
                    topup_request_id=topup["request_id"]),
            refund(f"{unique}-ref1", {"partner_id": pp}, "30.00")])
        assert await until(lambda: _equals(stack, pp, Decimal("70")), 30)
        events = await events_of(stack, {pp}, 5)
    by_id = {e["event_id"]: e for e in events}
    kinds = sorted(e["type"] for e in by_id.values())
    assert kinds == ["balance.depleted", "balance.low", "balance.restored", "balance.restored",
                     "topup.requested"], "each crossing once, whatever was re-emitted"
    low = next(e for e in by_id.values() if e["type"] == "balance.low")
    assert low["threshold"] == "50.00" and Decimal(low["balance_amount"]) < 50
    assert topup["amount"] == "100.00"
    assert await ledger_mismatches(stack) == []


async def _some_debited(stack, owner):
    return (await amounts(stack, [owner])).get(owner, Decimal(100)) < 100


async def _equals(stack, owner, value):
    return (await amounts(stack, [owner])).get(owner) == value


async def test_refused_payments_reach_the_dlq_with_their_codes(stack, unique, tmp_path):
    """Unknown account, a channel under Partner-Paid, a Direct-Paid partner, wrong currency, a
    non-positive amount, a refund beyond the balance: each in billing.payments.v1.dlq, nothing moved."""
    pp, dp = f"{unique}ppPA", f"{unique}dpPA"
    ch = f"{unique}dpCH"
    await publish(stack.bootstrap, DIRECTORY.name, [
        (pp.encode(), json.dumps(partner(pp)).encode()),
        (pp.encode(), json.dumps(channel(f"{unique}ppCH", f"{pp}CL", pp)).encode()),
        (dp.encode(), json.dumps(partner(dp, "direct_paid", "USD")).encode()),
        (dp.encode(), json.dumps(channel(ch, f"{dp}CL", dp)).encode())])
    cases = [
        (payment(f"{unique}-a", {"partner_id": f"{unique}nobodyPA"}, "10.00"), ErrorCode.UNKNOWN_ACCOUNT),
        (payment(f"{unique}-b", {"channel_id": f"{unique}ppCH"}, "10.00"), ErrorCode.UNKNOWN_ACCOUNT),
        (payment(f"{unique}-c", {"partner_id": dp}, "10.00", "USD"), ErrorCode.UNKNOWN_ACCOUNT),
        (payment(f"{unique}-d", {"channel_id": ch}, "10.00", "EUR"), ErrorCode.CURRENCY_MISMATCH),
        (payment(f"{unique}-e", {"channel_id": ch}, "0.00", "USD"), ErrorCode.INVALID_AMOUNT),
        (payment(f"{unique}-f", {"channel_id": ch}, "-5.00", "USD"), ErrorCode.INVALID_AMOUNT),
        (refund(f"{unique}-g", {"channel_id": ch}, "25.00", "USD"), ErrorCode.REFUND_EXCEEDS_BALANCE),
    ]
    with balance_service(stack, f"test-{unique}", tmp_path, hold_s="2"):
        assert await until(lambda: _equals(stack, ch, Decimal("0")), 30), "the directory opened the balance"
        await publish(stack.bootstrap, PAYMENTS.name, [payment(f"{unique}-ok", {"channel_id": ch}, "20.00", "USD")])
        assert await until(lambda: _equals(stack, ch, Decimal("20")), 30)
        await publish(stack.bootstrap, PAYMENTS.name, [value for value, _ in cases])
        ids = {json.loads(v)["payment_id" if b"payment_id" in v else "refund_id"]: code
               for (_, v), code in cases}
        letters = await collect(stack.bootstrap, PAYMENTS.dlq, lambda r: _id_of(r) in ids, len(ids),
                                identity=_id_of)
        assert (await amounts(stack, [ch]))[ch] == Decimal("20")
    got = {_id_of(r): DeadLetter.model_validate_json(r.value).error.code for r in letters}
    assert got == ids


def _last_day(month: str) -> int:
    return calendar.monthrange(int(month[:4]), int(month[5:]))[1]


async def _month_after_every_close(stack) -> str:
    closes = await collect(stack.bootstrap, LEDGER_CLOSE.name, lambda r: True, 1_000_000, timeout_s=3)
    months = [json.loads(r.value).get("month", "") for r in closes]
    return next_month(max(months)) if months else "2031-03"


def _id_of(record) -> str:
    payload = json.loads(json.loads(record.value)["payload"] or "{}")
    return payload.get("payment_id") or payload.get("refund_id") or ""


async def test_closing_a_ledger_month_summarises_each_balance_and_books_later_movements_to_the_next(
        own_database, unique, tmp_path):
    """After a close, a late debit of the closed month is booked to the next one."""
    stack = own_database  # closed months are global to a database
    pp = f"{unique}PA"
    # The service replays earlier runs' close commands into its fresh database first: close a month
    # after every month they closed.
    month = await _month_after_every_close(stack)
    await publish(stack.bootstrap, DIRECTORY.name, [(pp.encode(), json.dumps(partner(pp)).encode())])
    with balance_service(stack, f"test-{unique}", tmp_path):
        await publish(stack.bootstrap, PAYMENTS.name, [
            payment(f"{unique}-p", {"partner_id": pp}, "50.00", at=f"{month}-02T08:00:00Z")])
        await publish(stack.bootstrap, USAGE_PRICED.name, [
            usage(f"{unique}-u1", pp, pp, f"{unique}CH", "0.1131", at=f"{month}-03T08:00:00Z")])
        assert await until(lambda: _equals(stack, pp, Decimal("49.8869")), 30)
        close = {"type": "ledger.close", "close_id": f"close-{unique}", "month": month}
        await publish(stack.bootstrap, LEDGER_CLOSE.name, [(month.encode(), json.dumps(close).encode())])
        answer = await collect(stack.bootstrap, LEDGER_CLOSED.name,
                               lambda r: json.loads(r.value)["close_id"] == f"close-{unique}"
                               and json.loads(r.value)["type"] == "ledger.closed", 1)
        assert answer
        await publish(stack.bootstrap, USAGE_PRICED.name, [
            usage(f"{unique}-u2", pp, pp, f"{unique}CH", "0.1131", at=f"{month}-{_last_day(month)}T23:59:59Z")])
        assert await until(lambda: _equals(stack, pp, Decimal("49.7738")), 30)
    # The same closing may be on the topic twice: the service's inputs join the group one after the other,
    # and a rebalance in the middle of the close's batch reads the command again, which publishes the same
    # closings again, read back from the database (services/balance/service.close_ledger); readers keep a
    # closing once.
    records = await collect(stack.bootstrap, LEDGER_CLOSED.name,
                            lambda r: json.loads(r.value)["close_id"] == f"close-{unique}" and (
                                json.loads(r.value).get("partner_id") in (pp, None)), 2, timeout_s=10,
                            identity=lambda r: json.dumps(json.loads(r.value), sort_keys=True))
    distinct = {json.dumps(json.loads(r.value), sort_keys=True): r for r in records}.values()
    mine = [BalanceClosing.model_validate_json(r.value) for r in distinct
            if json.loads(r.value)["type"] == "balance.closing" and json.loads(r.value)["partner_id"] == pp]
    [closing] = mine
    assert (closing.starting_balance, closing.added_funds, closing.usage, closing.refunds,
            closing.ending_balance) == (Decimal("0.00"), Decimal("50.00"), Decimal("0.1131"), Decimal("0.00"),
                                        Decimal("49.8869"))
    [line] = closing.usage_lines
    assert (line.quantity, line.amount, line.usage_month) == (1, Decimal("0.1131"), month)
    marker = LedgerClosed.model_validate_json(next(r.value for r in records
                                                   if json.loads(r.value)["type"] == "ledger.closed"))
    assert marker.balances >= 1
    conn = await db(stack)
    try:
        booked = await conn.fetchval("SELECT booked_month FROM balance.ledger WHERE business_id = $1",
                                     f"{unique}-u2")
    finally:
        await conn.close()
    assert booked == next_month(month)


async def test_debits_top_ups_and_refunds_at_once_on_a_few_hot_balances_through_a_rebalance_and_a_kill(
        stack, unique, tmp_path):
    """Three balances take 3,000 debits (each sent twice) while top-ups and refunds arrive; a second
    instance joins (rebalance) and the first is killed: every balance ends exactly at what the inputs
    say, the ledger adds up, and every event the ledger counted was announced once, no more, no less."""
    owners = [f"{unique}PA{i}" for i in range(3)]
    # A threshold the debits cross back and forth as top-ups interleave with them: several crossings,
    # each to be announced once; a refund can never exceed the balance (it stays above 20).
    renewal = {"enabled": True, "threshold": "45.00", "amount": "40.00"}
    await publish(stack.bootstrap, DIRECTORY.name, [
        (o.encode(), json.dumps(partner(o, auto_renewal=renewal)).encode()) for o in owners])
    rnd = random.Random(11)
    wave1 = [usage(f"{unique}-m{i}-{o}", o, o, f"{o}CH", "0.0100") for i in range(1000) for o in owners]
    wave2 = [usage(f"{unique}-n{i}-{o}", o, o, f"{o}CH", "0.0100") for i in range(1000) for o in owners]
    credits = [payment(f"{unique}-p{i}-{o}", {"partner_id": o}, "5.00", method="bank_transfer")
               for i in range(20) for o in owners]
    refunds = [refund(f"{unique}-r{i}-{o}", {"partner_id": o}, "1.00") for i in range(10) for o in owners]
    group = f"test-{unique}"
    first = balance_service(stack, group, tmp_path, "first").start()
    second = None
    try:
        assert await until(lambda: _all_exist(stack, owners), 30)
        await publish(stack.bootstrap, PAYMENTS.name, [
            payment(f"{unique}-seed-{o}", {"partner_id": o}, "50.00") for o in owners])
        # Usage and payments are separate topics: wait for the seed, or wave 1 could land first.
        assert await until(lambda: _all_equal(stack, owners, Decimal("50.00")), 60)
        await publish(stack.bootstrap, USAGE_PRICED.name, wave1 + rnd.sample(wave1, len(wave1)))
        assert await until(lambda: _all_equal(stack, owners, Decimal("40.00")), 60), "below the threshold"
        await asyncio.gather(
            publish(stack.bootstrap, USAGE_PRICED.name, wave2 + rnd.sample(wave2, len(wave2))),
            publish(stack.bootstrap, PAYMENTS.name, rnd.sample(credits + refunds, len(credits + refunds))))
        second = balance_service(stack, group, tmp_path, "second").start()
        first.proc.kill()
        first.proc.wait()
        # 50 seed − 2,000 × 0.01 debits + 20 × 5 top-ups − 10 × 1 refunds, for each balance.
        assert await until(lambda: _all_equal(stack, owners, Decimal("120.00")), 90)
    finally:
        if second:
            assert second.terminate() == 0
    assert await ledger_mismatches(stack) == []
    counted = await _events_issued(stack, owners)
    events = await events_of(stack, set(owners), sum(counted.values()))
    announced = {o: len({e["event_id"] for e in events if _owner(e) == o}) for o in owners}
    assert announced == counted
    assert all(n >= 3 for n in counted.values()), "restored, then low and top-up requested at least"
    for o in owners:
        topups = {e["request_id"] for e in events if _owner(e) == o and e["type"] == "topup.requested"}
        assert len(topups) == 1, "a second crossing before the top-up arrives requests nothing new"


async def _all_exist(stack, owners):
    return len(await amounts(stack, owners)) == len(owners)


async def _all_equal(stack, owners, value):
    got = await amounts(stack, owners)
    return all(got.get(o) == value for o in owners)


async def _events_issued(stack, owners) -> dict[str, int]:
    conn = await db(stack)
    try:
        rows = await conn.fetch("SELECT owner_id, events_issued FROM balance.balances WHERE owner_id = ANY($1)",
                                owners)
        return {r["owner_id"]: r["events_issued"] for r in rows}
    finally:
        await conn.close()


def _owner(event: dict) -> str:
    return event["balance"].get("partner_id") or event["balance"].get("channel_id")
