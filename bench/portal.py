"""`python -m bench.portal`: the portal's API under load, and how far its read model lags behind balance.

A fresh stack of its own (`.stack/bench-portal`, ports from BILLING_BENCH_PORTAL_KAFKA_PORT,
…_CONTROLLER_PORT, …_PG_PORT; 29392/29393/55444 by default). Two parts:

1. **API under load**: the read model holds 10,000 channels (200 partners of both models, 50
   channels each), a balance each (Partner-Paid partners' shared ones, Direct-Paid channels' own)
   and 7 days × 2 categories of usage per channel, all through the topics. Other processes
   (`bench/http_load.py`: several sharing one schedule) send read requests open loop at increasing
   rates (balances, one balance, its forecast, usage of a channel, invoices; each partner with its
   own key); latency is from each request's scheduled time to its answer.
2. **Read-model lag**: usage ingest and balance run next to the portal; statuses are published at
   half the pipeline's end-to-end throughput. Every 0.1 s both schemas are read: for each
   balance version (its move count) committed in balance and in the portal, PostgreSQL's commit
   timestamp (`track_commit_timestamp`) on each side; the lag is the difference. A version
   overwritten between two reads is not seen; those seen on both sides are exact.

Results: a table on stdout and `bench/results/portal.json`.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
import typer
from aiokafka import AIOKafkaProducer

from deploy.stack import kafka, postgres
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from services.portal.domain.keys import new_key
from shared.kafka import PRODUCER_OPTIONS
from shared.topics import BALANCE_MOVES, DIRECTORY, MESSAGE_STATUS, RATECARDS, USAGE_DAYS

from ops.lag import consumer_lag
from services.portal.handlers import OWNED, READ

from .pipeline import Proc, enable_commit_timestamps, log, percentiles, publish, server_cpu
from .services import RESULTS, env_for, restart_empty
from .traffic import bench_card, directory_of, stream

PARTNERS, PER_PARTNER, DAYS = 200, 50, 7
SAMPLE_S = 0.1
TODAY = date(2026, 10, 28)


def stack() -> StackSettings:
    e = os.environ.get
    return StackSettings(dir=PROJECT_ROOT / ".stack" / "bench-portal",
                         kafka_port=int(e("BILLING_BENCH_PORTAL_KAFKA_PORT", 29392)),
                         kafka_controller_port=int(e("BILLING_BENCH_PORTAL_CONTROLLER_PORT", 29393)),
                         pg_port=int(e("BILLING_BENCH_PORTAL_PG_PORT", 55444)))


def owners(channels: list[str]) -> list[tuple[str, str, str | None, str, str]]:
    """(owner, partner, client, model, currency) of every balance of the bench directory."""
    out = []
    for p in range(PARTNERS):
        pid, cl = f"bench{p:03d}PA", f"bench{p:03d}CL"
        if p % 2 == 0:
            out.append((pid, pid, None, "partner_paid", "EUR"))
        else:
            out += [(ch, pid, cl, "direct_paid", "USD") for ch in channels[p * PER_PARTNER:(p + 1) * PER_PARTNER]]
    return out


def model_records(channels: list[str]) -> tuple[list, list]:
    moves = [(o.encode(), json.dumps({
        "move_id": f"{o}/1", "balance": {"partner_id": o} if m == "partner_paid" else {"channel_id": o},
        "partner_id": p, "client_id": c, "billing_model": m, "currency": cur, "amount": "150.00", "version": 1,
        "updated_at": "2026-10-28T10:00:00Z"}).encode()) for o, p, c, m, cur in owners(channels)]
    days = []
    for i, ch in enumerate(channels):
        p = i // PER_PARTNER
        for d in range(DAYS):
            for category, n in (("marketing", 20 + i % 13), ("utility", 5 + d)):
                days.append((ch.encode(), json.dumps({
                    "usage_day_id": f"{ch}/{d}/{category}/1", "channel_id": ch, "client_id": f"bench{p:03d}CL",
                    "partner_id": f"bench{p:03d}PA", "billing_model": "partner_paid" if p % 2 == 0 else "direct_paid",
                    "currency": "EUR" if p % 2 == 0 else "USD", "day": (TODAY - timedelta(days=d)).isoformat(),
                    "category": category, "charged": n, "free": 1, "amount": f"{n * 0.05:.4f}", "version": 1}).encode()))
    return moves, days


async def send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_OPTIONS)  # type: ignore[arg-type]
    await p.start()
    try:
        for k, v in records:
            await p.send(topic, value=v, key=k)
        await p.flush()
    finally:
        await p.stop()


async def _count(conn: asyncpg.Connection, sql: str) -> int:
    try:
        return await conn.fetchval(sql)
    except asyncpg.UndefinedTableError:  # the service has not migrated its schema yet
        return 0


async def until(conn: asyncpg.Connection, sql: str, want: int, timeout_s: float = 600) -> float:
    started = time.monotonic()
    while (got := await _count(conn, sql)) < want:
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{sql}: {got} of {want}")
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def keys(conn: asyncpg.Connection) -> dict[str, str]:
    made = {}
    for label in [f"partner:bench{p:03d}PA" for p in range(PARTNERS)]:
        k = new_key()
        kind, _, ident = label.partition(":")
        await conn.execute("INSERT INTO portal.api_keys (key_id, key_hash, prefix, principal_kind, principal_id) "
                           "VALUES ($1, $2, 'wab_live_', $3, $4)", k.key_id, k.hash, kind, ident)
        made[label] = k.key
    return made


def request_mix(channels: list[str], made: dict[str, str]) -> list[list[str]]:
    out = []
    for p in range(PARTNERS):
        pid, key = f"bench{p:03d}PA", made[f"partner:bench{p:03d}PA"]
        ch = channels[p * PER_PARTNER + p % PER_PARTNER]
        owner = pid if p % 2 == 0 else ch
        out += [[f"/v1/balances/{owner}", key], [f"/v1/balances/{owner}/forecast", key],
                [f"/v1/usage?month=2026-10&channel_id={ch}&limit=20", key], ["/v1/balances?limit=20", key],
                ["/v1/invoices?limit=20", key]]
    return out


def load(port: int, rate: float, seconds: float, mix: list[list[str]]) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.http_load", "--port", str(port), "--rate", str(rate),
                          "--seconds", str(seconds)], input=json.dumps(mix), capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=seconds * 4 + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout)


async def lag_run(s: StackSettings, conn: asyncpg.Connection, channels: list[str], rate: float,
                  seconds: float) -> dict:
    """Statuses at `rate` through usage ingest and balance; each balance version's commit in balance and
    in the portal, sampled every 200 ms."""
    ingest = Proc("usage-ingest", [sys.executable, "-m", "services.usage_ingest"],
                  env_for(s, "BILLING_USAGE_INGEST_"), s.logs / "usage-ingest.log")
    balance = Proc("balance", [sys.executable, "-m", "services.balance"], env_for(s, "BILLING_BALANCE_"),
                   s.logs / "balance.log")
    seen: dict[str, dict[tuple[str, int], float]] = {"balance": {}, "portal": {}}
    sql = {"balance": "SELECT owner_id, moves, extract(epoch FROM pg_xact_commit_timestamp(xmin)) AS t "
                      "FROM balance.balances WHERE moves > 1",
           "portal": "SELECT owner_id, version AS moves, extract(epoch FROM pg_xact_commit_timestamp(xmin)) "
                     "AS t FROM portal.balances WHERE version > 1"}
    try:
        await until(conn, "SELECT count(*) FROM usage_ingest.channels", len(channels), 300)
        stop = asyncio.Event()

        async def sample() -> None:
            # The commit time of each (balance, version) on each side, read while it is the newest.
            while not stop.is_set():
                for side, q in sql.items():
                    for r in await conn.fetch(q):
                        seen[side].setdefault((r["owner_id"], r["moves"]), float(r["t"]))
                await asyncio.sleep(SAMPLE_S)

        sampler = asyncio.create_task(sample())
        p = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, **PRODUCER_OPTIONS)  # type: ignore[arg-type]
        await p.start()
        try:
            messages = int(rate * seconds / 2.28)
            await publish(p, MESSAGE_STATUS.name, stream(messages, channels, PER_PARTNER, "lag"), rate)
        finally:
            await p.stop()
        await asyncio.sleep(5)
        stop.set()
        await sampler
    finally:
        ingest.stop()
        balance.stop()
    # Version 1 is the read model's seed (and balance's first move does not replace it): versions 2 and
    # later are balance's moves, the same number on both sides.
    lags = [seen["portal"][k] - t for k, t in seen["balance"].items() if k in seen["portal"]]
    return {"statuses_per_s": rate, "seconds": seconds, "versions_matched": len(lags), "sample_s": SAMPLE_S,
            "lag_ms": percentiles(lags) if lags else None}  # percentiles() takes seconds, writes ms


async def run(rates: list[float], seconds: float, lag_rate: float, lag_seconds: float) -> dict:
    s = stack()
    log(f"fresh stack in {s.dir}")
    await restart_empty(s)
    enable_commit_timestamps(s)
    port = s.kafka_port + 10
    # The portal reaches PostgreSQL over the server's Unix socket (its data directory): three round trips
    # a request, each cheaper in CPU without TCP on the way.
    env = env_for(s, "BILLING_PORTAL_") | {"BILLING_PORTAL_HTTP_PORT": str(port), "BILLING_PORTAL_LAG_INTERVAL_S": "0",
                                           "BILLING_DB_HOST": str(postgres.data_dir(s))}
    portal = Proc("portal", [sys.executable, "-m", "services.portal"], env, s.logs / "portal.log")
    conn = await asyncpg.connect(host="127.0.0.1", port=s.pg_port, user=s.pg_user,
                                 password=s.pg_password.get_secret_value(), database=s.pg_database)
    try:
        directory, channels = directory_of(PARTNERS, PER_PARTNER)
        moves, days = model_records(channels)
        while not portal.listening():
            await asyncio.sleep(0.2)
        started = time.monotonic()
        await send(s.kafka_bootstrap, RATECARDS.name, [(c.encode(), json.dumps(bench_card(c)).encode())
                                                      for c in ("EUR", "USD")])
        await send(s.kafka_bootstrap, DIRECTORY.name, directory)
        await send(s.kafka_bootstrap, BALANCE_MOVES.name, moves)
        await send(s.kafka_bootstrap, USAGE_DAYS.name, days)
        await until(conn, "SELECT count(*) FROM portal.usage_days", len(days))
        await until(conn, "SELECT count(*) FROM portal.balances WHERE version = 1", len(moves))
        built = time.monotonic() - started
        while await consumer_lag(s.kafka_bootstrap, {"billing-portal": OWNED + READ}) > 0:
            await asyncio.sleep(1)  # every record consumed and committed: the consumers are idle
        log(f"read model: {len(channels)} channels, {len(moves)} balances, {len(days)} usage days in {built:.1f} s")
        mix = request_mix(channels, await keys(conn))
        if rates:
            load(port, 50, 5, mix)  # warm-up: connections, caches, the key lookups
        api = []
        for rate in rates:
            cpu, pg = portal.cpu(), server_cpu(s)["postgres"]
            result = load(port, rate, seconds, mix)
            result["portal_cpu_ms_per_request"] = round((portal.cpu() - cpu) * 1000 / result["requests"], 2)
            result["postgres_cpu_ms_per_request"] = round((server_cpu(s)["postgres"] - pg) * 1000 / result["requests"], 2)
            result["load_average"] = round(os.getloadavg()[0], 1)
            log(f"{rate:.0f} req/s asked, {result['offered_per_s']} offered (late p99 {result['late_p99_ms']} ms, "
                f"{result['generator_cpu_ms_per_request']} ms generator CPU/request), "
                f"{result['achieved_per_s']} answered: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                f"{result['portal_cpu_ms_per_request']} ms CPU/request (PostgreSQL "
                f"{result['postgres_cpu_ms_per_request']}), {result['statuses']}, "
                f"load {result['load_average']}")
            api.append(result)
        lag = await lag_run(s, conn, channels, lag_rate, lag_seconds) if lag_seconds > 0 else None
        log(f"lag at {lag_rate:.0f} statuses/s: {lag['lag_ms'] if lag else 'not measured'}")
        return {"machine_cpus": os.cpu_count(), "load_average": os.getloadavg(), "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "channels": len(channels), "balances": len(moves), "usage_days": len(days),
                "read_model_built_s": round(built, 1), "api": api, "lag": lag}
    finally:
        await conn.close()
        portal.stop()
        kafka.stop(s)
        postgres.stop(s)


def table(result: dict) -> str:
    lines = ["| asked (req/s) | offered | answered | generator late p99 ms | p50 ms | p95 ms | p99 ms | max ms | "
             "portal CPU ms/request | PostgreSQL CPU ms/request | load | statuses |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["api"]:
        lines.append(f"| {r['rate']:.0f} | {r['offered_per_s']} | {r['achieved_per_s']} | {r['late_p99_ms']} | "
                     f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | "
                     f"{r['portal_cpu_ms_per_request']} | {r['postgres_cpu_ms_per_request']} | {r['load_average']} | "
                     f"{r['statuses']} |")
    lag = result["lag"]
    if lag:
        lines.append(f"\nread-model lag at {lag['statuses_per_s']} statuses/s ({lag['versions_matched']} versions): "
                     f"{lag['lag_ms']}")
    return "\n".join(lines)


def main(rates: str = typer.Option("100,250,500,750", help="Request rates of the API runs."),
         seconds: float = typer.Option(15.0, help="Seconds per rate."),
         lag_rate: float = typer.Option(3400.0, help="Statuses/s of the lag run (half the end-to-end "
                                        "throughput in docs/benchmarks.md)."),
         lag_seconds: float = typer.Option(30.0, help="Seconds of the lag run; 0 skips it.")) -> None:
    result = asyncio.run(run([float(r) for r in rates.split(",") if r], seconds, lag_rate, lag_seconds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "portal.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))


if __name__ == "__main__":
    typer.run(main)
