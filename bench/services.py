"""`python -m bench.services`: how fast usage ingest and balance drain a backlog, on this machine.

A fresh stack of its own (`.stack/bench`, its own ports) is started, the
directory, rate cards and N messages' statuses are published first, then each
service is started alone and timed until it has consumed everything and
committed its effects: usage ingest until every charged message's priced
usage is published, balance until every one of them is debited. Two runs:
usage spread over many balances, and all of it on one hot Partner-Paid
balance. Results are printed and written to bench/results/services.json.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import psutil
import typer
from aiokafka.admin import AIOKafkaAdminClient

from services.invoicing.documents.seller import example_env
from deploy.stack import kafka, postgres
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from deploy.stack.topics import ensure_topics
from ops.lag import consumer_lag
from shared.topics import MESSAGE_STATUS, USAGE_PRICED
from tests.integration.kafka_io import publish

from .traffic import generate

RESULTS = PROJECT_ROOT / "bench" / "results"
# Members of each service's consumer group: one per input (services/*/handlers.py).
INGEST_INPUTS, BALANCE_INPUTS = 3, 6


@dataclass
class Run:
    scenario: str
    messages: int
    statuses: int
    charged: int
    ingest_seconds_with_startup: float
    ingest_seconds: float
    ingest_statuses_per_s: float
    ingest_cpu_s_per_1000: float
    ingest_peak_rss_mb: float
    balance_seconds_with_startup: float
    balance_seconds: float
    balance_debits_per_s: float
    balance_cpu_s_per_1000: float
    balance_peak_rss_mb: float


def bench_stack() -> StackSettings:
    """The bench's own stack; `BILLING_BENCH_*` move it (two checkouts benchmarking on one machine)."""
    env = os.environ.get
    return StackSettings(dir=env("BILLING_BENCH_STACK_DIR", PROJECT_ROOT / ".stack" / "bench"),
                         kafka_port=int(env("BILLING_BENCH_KAFKA_PORT", 29092)),
                         kafka_controller_port=int(env("BILLING_BENCH_KAFKA_CONTROLLER_PORT", 29093)),
                         pg_port=int(env("BILLING_BENCH_PG_PORT", 55434)), pg_archive=False)


def env_for(s: StackSettings, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env.update({"BILLING_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap, "BILLING_DB_PORT": str(s.pg_port),
                "BILLING_DB_PASSWORD": s.pg_password.get_secret_value(), f"{prefix}LOG_JSON": "true",
                f"{prefix}LOG_LEVEL": "WARNING", f"{prefix}BATCH_MAX_RECORDS": "1000",
                f"{prefix}HTTP_PORT": "0", **example_env()})
    return env


async def count(s: StackSettings, sql: str) -> int:
    conn = await asyncpg.connect(host="127.0.0.1", port=s.pg_port, user=s.pg_user,
                                 password=s.pg_password.get_secret_value(), database=s.pg_database)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


class Measured:
    """A service process, with its CPU time and peak RSS sampled while it runs."""

    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", module], env=env, cwd=PROJECT_ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)
        self.peak_rss = 0
        self.cpu_start = 0.0

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)

    def ready(self) -> bool:
        """Migrated and connected: its HTTP port answers (the port is the process' only listener)."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"the service exited with {self.proc.returncode}")
        return any(c.status == psutil.CONN_LISTEN for c in self.ps.net_connections())

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


async def settled(s: StackSettings, group: str, members: int) -> bool:
    """Whether the service's consumer group has all its members (one per input) and no rebalance under way."""
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        _, _, state, _, _, joined = response.groups[0][:6]
        return state == "Stable" and len(joined) >= members
    finally:
        await admin.close()


async def drain(service: Measured, remaining, joined) -> tuple[float, float, float]:
    """Seconds from start-up, and from the moment the service has made progress with its consumer group
    settled, until `remaining()` is 0; and the share of the work that was left at that moment.

    The second excludes start-up (migrations, joining the consumer group), which a long-running
    service pays once; the CPU time is counted from the same moment. Each input of a service is a member
    of its group, and each joins with a rebalance that stops the others for a while: balance reads its
    priced usage while its five other inputs still join, so progress alone does not mean started.
    """
    started = time.perf_counter()
    while not service.ready():
        await asyncio.sleep(0.1)
    initial = await remaining()
    progressed, counted = None, initial
    while (left := await remaining()) > 0:
        if progressed is None and left < initial and await joined():
            progressed, counted = time.perf_counter(), left
            service.cpu_start = service.cpu()
        service.sample()
        if service.proc.poll() is not None:
            raise RuntimeError(f"the service exited with {service.proc.returncode}")
        await asyncio.sleep(0.1)
    end = time.perf_counter()
    return end - started, end - (progressed or started), counted / initial


async def restart_empty(s: StackSettings) -> None:
    """Stop the bench stack, wipe it, start it again empty with its topics: every run starts alike."""
    kafka.stop(s)
    postgres.stop(s)
    shutil.rmtree(s.dir, ignore_errors=True)
    kafka.start(s)
    postgres.start(s)
    await ensure_topics(s.kafka_bootstrap)
    s.logs.mkdir(parents=True, exist_ok=True)


async def run(scenario: str, messages: int, hot: bool) -> Run:
    s = bench_stack()
    await restart_empty(s)
    try:
        traffic = generate(messages, hot=hot)
        await publish(s.kafka_bootstrap, "billing.ratecards.v1", traffic.ratecards)
        await publish(s.kafka_bootstrap, "billing.directory.v1", traffic.directory)
        await publish(s.kafka_bootstrap, MESSAGE_STATUS.name, traffic.statuses)

        ingest = Measured("services.usage_ingest", env_for(s, "BILLING_USAGE_INGEST_"), s.logs / "ingest.log")

        async def ingest_left() -> int:
            return (await consumer_lag(s.kafka_bootstrap, {"billing-usage-ingest": [MESSAGE_STATUS]})
                    + await count(s, "SELECT count(*) FROM usage_ingest.outbox")
                    + traffic.charged
                    - await count(s, "SELECT count(*) FROM usage_ingest.messages WHERE outcome = 'charged'"))

        ingest_total, ingest_s, ingest_share = await drain(
            ingest, ingest_left, lambda: settled(s, "billing-usage-ingest", INGEST_INPUTS))
        ingest_cpu = ingest.cpu() - ingest.cpu_start
        ingest.stop()

        balance = Measured("services.balance", env_for(s, "BILLING_BALANCE_"), s.logs / "balance.log")

        async def debits_left() -> int:
            return (await consumer_lag(s.kafka_bootstrap, {"billing-balance": [USAGE_PRICED]}) + traffic.charged
                    - await count(s, "SELECT count(*) FROM balance.ledger WHERE kind = 'usage'"))

        balance_total, balance_s, balance_share = await drain(
            balance, debits_left, lambda: settled(s, "billing-balance", BALANCE_INPUTS))
        balance_cpu = balance.cpu() - balance.cpu_start
        balance.stop()
        n = len(traffic.statuses)
        statuses, debits = n * ingest_share, traffic.charged * balance_share  # counted from the settled group
        return Run(scenario, messages, n, traffic.charged, round(ingest_total, 2), round(ingest_s, 2),
                   round(statuses / ingest_s), round(ingest_cpu / statuses * 1000, 3),
                   round(ingest.peak_rss / 2**20, 1),
                   round(balance_total, 2), round(balance_s, 2), round(debits / balance_s),
                   round(balance_cpu / debits * 1000, 3), round(balance.peak_rss / 2**20, 1))
    finally:
        kafka.stop(s)
        postgres.stop(s)


def main(messages: int = typer.Option(30_000, help="Messages per scenario (each has 1–4 statuses).")) -> None:
    results = [asyncio.run(run("spread over 1,000 channels / 20 partners", messages, hot=False)),
               asyncio.run(run("hot: every message on one Partner-Paid partner", messages, hot=True))]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "services.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30)},
         "runs": [asdict(r) for r in results]}, indent=2) + "\n")
    for r in results:
        print(f"{r.scenario}: {r.statuses} statuses, {r.charged} charged")
        print(f"  usage ingest: {r.ingest_seconds}s ({r.ingest_seconds_with_startup}s with start-up), "
              f"{r.ingest_statuses_per_s} statuses/s, "
              f"{r.ingest_cpu_s_per_1000} CPU s per 1,000 statuses, peak RSS {r.ingest_peak_rss_mb} MB")
        print(f"  balance:      {r.balance_seconds}s ({r.balance_seconds_with_startup}s with start-up), "
              f"{r.balance_debits_per_s} debits/s, "
              f"{r.balance_cpu_s_per_1000} CPU s per 1,000 debits, peak RSS {r.balance_peak_rss_mb} MB")


if __name__ == "__main__":
    typer.run(main)
