"""`python -m bench`: the whole pipeline against the raw Kafka limit, on this one machine.

A fresh stack of its own (`.stack/bench`, ports 29092/29093/55434) is started. For 1 and then 2
instances of every service (one consumer group each):

1. **raw limit**: bare aiokafka hops (`bench/raw.py`) carry the same statuses through as many hops
   as the pipeline (statuses → hop → topic → hop → topic, 12 partitions each, `acks=all`,
   idempotent, commit after the acknowledgements), as many processes per hop as service instances;
   statuses/s from the first publish until the last record of the last hop is written.
2. **end-to-end throughput**: the same statuses published as fast as possible to
   `wa.message-status.v1` while usage ingest, balance, invoicing and the portal run as separate processes;
   statuses/s from the first publish until the last debit is committed (PostgreSQL's commit
   timestamp of the ledger row, `track_commit_timestamp`). CPU time of every process (services,
   PostgreSQL, Kafka) per 1,000 statuses, peak RSS of every service; then, every group caught up,
   the cores each process kind uses with no traffic for 20 s.
3. **latency**: open-loop load at fractions of that throughput: each status is published at its
   scheduled time (its Kafka timestamp), whatever the pipeline does; the latency of a charged
   message is from its first delivery status's scheduled time to its debit's commit timestamp,
   split at the relay of its priced usage into usage ingest's part and balance's (`bench/hops.py`);
   the cores each process kind used meanwhile.

Then the database size per million statuses, and the month close for 10,000 channels
(`bench/close_month.py`, on a fresh database). `--memory-run` instead pushes 2 million statuses
through one instance of each service and samples every service's RSS against the statuses processed.

Results: a table on stdout and `bench/results/pipeline.json` (`memory.json` for the memory run).
"""

import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.stack import kafka, postgres
from deploy.stack.process import read_pid
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from shared.kafka import PRODUCER_OPTIONS
from shared.topics import DIRECTORY, MESSAGE_STATUS, RATECARDS

from . import close_month, groups, hops
from .services import RESULTS, bench_stack, env_for, restart_empty
from .traffic import Status, bench_card, directory_of, first_debits, stream

PARTNERS = 40
CHANNELS_PER_PARTNER = 50
STATUSES_PER_MESSAGE = 2.28  # of the traffic mix, measured
SERVICES = (("usage-ingest", "services.usage_ingest", "BILLING_USAGE_INGEST_"),
            ("balance", "services.balance", "BILLING_BALANCE_"),
            ("invoicing", "services.invoicing", "BILLING_INVOICING_"),
            # Not on the path to the debit, but it reads what the pipeline publishes (usage days, balance
            # moves, …) on the same cores: measured with everything on, as in production.
            ("portal", "services.portal", "BILLING_PORTAL_"))
RAW_PARTITIONS = MESSAGE_STATUS.partitions
CORE_KINDS = ("usage-ingest", "balance", "invoicing", "portal", "postgres", "kafka")
IDLE_SECONDS = 20.0  # of no traffic, between the throughput run and the latency phases
# Each service's consumer group (shared/service.py names it billing-<service>).
GROUPS = [f"billing-{name}" for name, _, _ in SERVICES]


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Processes and what they cost


class Proc:
    """A process of ours (a service instance or a raw hop): its CPU time and RSS, sampled."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_file: Path) -> None:
        self.name = name
        self._log = open(log_file, "ab")
        self.popen = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.popen.pid)
        self.peak_rss = 0
        self.rss_series: list[tuple[float, int]] = []

    def cpu(self) -> float:
        """CPU seconds of the process and of its children (invoicing's document workers render PDFs)."""
        t = self.ps.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self.ps.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return total

    def rss(self) -> int:
        rss = self.ps.memory_info().rss
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def alive(self) -> bool:
        return self.popen.poll() is None

    def listening(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
        return any(c.status == psutil.CONN_LISTEN for c in self.ps.net_connections())

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


def server_cpu(s: StackSettings) -> dict[str, float]:
    """CPU seconds used so far by PostgreSQL (the postmaster and every backend, ended ones too) and Kafka."""
    out = {}
    pg = read_pid(postgres.data_dir(s) / "postmaster.pid")
    if pg:
        master = psutil.Process(pg)
        t = master.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in master.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        out["postgres"] = total
    k = read_pid(kafka._pid_file(s))
    if k:
        t = psutil.Process(k).cpu_times()
        out["kafka"] = t.user + t.system + t.children_user + t.children_system
    return out


class Sampler:
    """Samples RSS of the given processes in the background; CPU snapshots on demand."""

    def __init__(self, s: StackSettings, procs: Sequence[Proc], interval_s: float = 0.5) -> None:
        self.s, self.procs, self.interval_s = s, procs, interval_s
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            now = time.time()
            for p in self.procs:
                with contextlib.suppress(psutil.Error):
                    p.rss_series.append((now, p.rss()))
            await asyncio.sleep(self.interval_s)

    def __enter__(self) -> "Sampler":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def cpu(self) -> dict[str, float]:
        per: dict[str, float] = {}
        for p in self.procs:
            per[p.name] = per.get(p.name, 0.0) + p.cpu()
        return {**per, **server_cpu(self.s)}


async def idle_cores(s: StackSettings, procs: Sequence[Proc], seconds: float) -> dict[str, float]:
    """The cores each process kind uses with no traffic at all (every group caught up): the fixed cost per
    second of polling, heartbeats and timers, which a lighter load spreads over fewer statuses."""
    sampler = Sampler(s, procs)
    before, started = sampler.cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    after, wall = sampler.cpu(), time.monotonic() - started
    return cores_used(before, after, wall)


def cores_used(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """The cores each process kind used over `wall` seconds."""
    return {k: round((after[k] - before.get(k, 0.0)) / wall, 3) for k in after}


def cpu_delta(before: dict[str, float], after: dict[str, float], per: int) -> dict[str, float]:
    """CPU seconds per 1,000 statuses of each process kind."""
    return {k: round((after[k] - before.get(k, 0.0)) / per * 1000, 4) for k in after}


# ---------------------------------------------------------------------------------------------------
# Publishing


async def producer(bootstrap: str, linger_ms: int | None = None) -> AIOKafkaProducer:
    options = PRODUCER_OPTIONS if linger_ms is None else {**PRODUCER_OPTIONS, "linger_ms": linger_ms}
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)  # type: ignore[arg-type]
    await p.start()
    return p


async def publish(p: AIOKafkaProducer, topic: str, statuses: Iterable[Status], rate: float | None = None,
                  sent_at: dict[str, float] | None = None) -> tuple[float, int, float]:
    """Publish statuses, open loop at `rate` statuses/s (or as fast as possible); returns the first
    publish time, the count, and how far the publisher fell behind its schedule at worst (s).

    In open loop every record's timestamp is its scheduled time, and so is the latency's start:
    a publisher (or a pipeline) that falls behind does not hide its delay.
    """
    first = time.time()
    futures: list[asyncio.Future] = []
    n = 0
    behind = 0.0
    for st in statuses:
        if rate:
            due = first + n / rate
            now = time.time()
            if due > now + 0.002:
                await asyncio.sleep(due - now)
            else:
                behind = max(behind, now - due)
            at = due
        else:
            at = time.time()
        futures.append(await p.send(topic, value=st.value, key=st.key, timestamp_ms=int(at * 1000)))
        if sent_at is not None and st.charges:
            sent_at[st.charges] = at
        n += 1
        if len(futures) >= 5000:
            await asyncio.gather(*futures)
            futures = []
    await asyncio.gather(*futures)
    return first, n, behind


async def create_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            await admin.create_topics(new)
        await asyncio.sleep(1.0)
    finally:
        await admin.close()


# ---------------------------------------------------------------------------------------------------
# The database


class Db:
    def __init__(self, s: StackSettings) -> None:
        self.s = s
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> "Db":
        self.conn = await asyncpg.connect(self.s.pg_dsn())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        await self.conn.close()

    async def val(self, sql: str, *args: object) -> object:
        assert self.conn is not None
        return await self.conn.fetchval(sql, *args)

    async def debits(self, run: str) -> int:
        return await self.val("SELECT count(*) FROM balance.ledger WHERE kind = 'usage' "  # type: ignore[return-value]
                              "AND business_id >= $1 AND business_id < $2", f"wamid.{run}.", f"wamid.{run}/")

    async def commit_times(self, run: str) -> dict[str, float]:
        assert self.conn is not None
        rows = await self.conn.fetch(
            "SELECT business_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS t "
            "FROM balance.ledger WHERE kind = 'usage' AND business_id >= $1 AND business_id < $2",
            f"wamid.{run}.", f"wamid.{run}/")
        return {r["business_id"]: r["t"] for r in rows}

    async def size(self) -> int:
        return await self.val("SELECT pg_database_size(current_database())")  # type: ignore[return-value]

    async def wait_debits(self, run: str, expected: int, timeout_s: float, procs: Sequence[Proc] = (),
                          poll_s: float = 0.5) -> None:
        """Until every debit of `run` is committed (when is read from commit timestamps, not from here)."""
        deadline = time.monotonic() + timeout_s
        while (got := await self.debits(run)) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run}: {got} of {expected} debits after {timeout_s:.0f}s")
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited with {p.popen.returncode}")
            await asyncio.sleep(poll_s)


def enable_commit_timestamps(s: StackSettings) -> None:
    """The latency ends at the debit's commit: PostgreSQL records commit times only when asked (restart)."""
    data = postgres.data_dir(s)
    result = postgres._psql(s, data, "ALTER SYSTEM SET track_commit_timestamp = on")
    if result.returncode != 0:
        raise RuntimeError(f"cannot enable track_commit_timestamp: {result.stderr}")
    postgres.stop(s)
    postgres.start(s)


# ---------------------------------------------------------------------------------------------------
# The phases


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1] * 1000, 1), "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
            "samples": len(ordered)}


def traffic(run: str, statuses: int, channels: list[str], seed: int) -> list[Status]:
    messages = max(1, round(statuses / STATUSES_PER_MESSAGE))
    return list(stream(messages, channels, CHANNELS_PER_PARTNER, run, seed=seed))


async def raw_limit(s: StackSettings, instances: int, statuses: list[Status], warmup: list[Status],
                    max_records: int) -> dict:
    """Statuses/s through bare aiokafka hops, as many hops and processes as the pipeline."""
    base = f"bench.raw.x{instances}.{int(time.time())}"
    topics = [f"{base}.input", f"{base}.hop1", f"{base}.hop2"]
    await create_topics(s.kafka_bootstrap, topics, RAW_PARTITIONS)
    procs = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    for hop in (1, 2):
        for i in range(instances):
            procs.append(Proc(f"raw-hop{hop}", [
                sys.executable, "-m", "bench.raw", "--bootstrap", s.kafka_bootstrap, "--source", topics[hop - 1],
                "--target", topics[hop], "--group", f"{base}.hop{hop}", "--max-records", str(max_records)],
                env, s.logs / f"raw-hop{hop}-{i}.log"))
    p = await producer(s.kafka_bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap)
    await reader.start()
    last_hop = [TopicPartition(topics[2], i) for i in range(RAW_PARTITIONS)]
    try:
        async def arrived(n: int, timeout_s: float) -> float:
            """When the last hop's topic holds `n` records (polled every 20 ms, one client)."""
            deadline = time.monotonic() + timeout_s
            while sum((await reader.end_offsets(last_hop)).values()) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError("the raw hops did not carry every record")
                await asyncio.sleep(0.02)
            return time.time()

        await publish(p, topics[0], warmup)
        await arrived(len(warmup), 120)
        with Sampler(s, procs) as sampler:
            before = sampler.cpu()
            first, n, _ = await publish(p, topics[0], statuses)
            last = await arrived(len(warmup) + n, 600)
            after = sampler.cpu()
        seconds = last - first
        return {"statuses": n, "seconds": round(seconds, 2), "statuses_per_s": round(n / seconds),
                "cpu_s_per_1000": cpu_delta(before, after, n),
                "peak_rss_mb": {name: round(max(x.peak_rss for x in procs if x.name == name) / 2**20, 1)
                                for name in ("raw-hop1", "raw-hop2")}}
    finally:
        await reader.stop()
        await p.stop()
        for proc in procs:
            proc.stop()


@contextlib.contextmanager
def profiled(procs: Sequence[Proc], instances: int):
    """py-spy (a sampling profiler, `pip install py-spy`) on the first instance of every service while the
    block runs; collapsed stacks in bench/results/profile-<service>-x<instances>.txt, and
    the functions with the most samples printed."""
    spies = []
    for name, _, _ in SERVICES:
        target = next((p for p in procs if p.name == name), None)
        if target is None:
            continue
        out = RESULTS / f"profile-{name}-x{instances}.txt"
        spies.append((out, subprocess.Popen(
            [shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy", "record", "--pid", str(target.popen.pid), "--format", "raw", "--rate", "200",
             "--nonblocking", "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    try:
        yield
    finally:
        for out, spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
            if out.exists():
                log(f"profile {out.name}:\n{summarise_profile(out)}")


def summarise_profile(path: Path, top: int = 25) -> str:
    """Inclusive share of samples per function (file:function) from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = {f.split(" (")[0] + " " + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                  for f in stack.split(";")}
        for f in frames:
            inclusive[f] = inclusive.get(f, 0) + n
    lines = [f"{n / total * 100:5.1f} %  {f}" for f, n in sorted(inclusive.items(), key=lambda x: -x[1])[:top]]
    return f"{total} samples\n" + "\n".join(lines)


def start_services(s: StackSettings, instances: int, max_records: int) -> list[Proc]:
    procs = []
    for name, module, prefix in SERVICES:
        env = env_for(s, prefix)
        env[f"{prefix}BATCH_MAX_RECORDS"] = str(max_records)
        env["BILLING_INVOICING_AUTO_CLOSE"] = "false"
        for i in range(instances):
            procs.append(Proc(name, [sys.executable, "-m", module], env, s.logs / f"{name}-{i}.log"))
    return procs


async def wait_listening(procs: Sequence[Proc], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(p.listening() for p in procs):
        if time.monotonic() > deadline:
            raise TimeoutError("services did not start")
        await asyncio.sleep(0.2)


async def pipeline(s: StackSettings, db: Db, instances: int, statuses: list[Status], warmup: list[Status],
                   run: str, rates: Sequence[float], rate_seconds: float, channels: list[str],
                   max_records: int, profile: bool = False, latency_linger_ms: int | None = None) -> dict:
    procs = start_services(s, instances, max_records)
    p = await producer(s.kafka_bootstrap)
    # The latency phases' open-loop publisher: its batching (linger) stands for the upstream platform's.
    lp = await producer(s.kafka_bootstrap, latency_linger_ms)
    try:
        await wait_listening(procs)
        size_before = await db.size()
        await publish(p, MESSAGE_STATUS.name, warmup)
        await db.wait_debits(f"{run}w", sum(1 for x in warmup if x.charges), 300, procs)
        log(f"x{instances}: warmed up; throughput with {len(statuses)} statuses")
        with Sampler(s, procs) as sampler, profiled(procs if profile else [], instances):
            before = sampler.cpu()
            first, n, _ = await publish(p, MESSAGE_STATUS.name, statuses)
            charged = sum(1 for x in statuses if x.charges)
            await db.wait_debits(run, charged, 1800, procs)
            after = sampler.cpu()
        last = max((await db.commit_times(run)).values())
        seconds = last - first
        throughput = n / seconds
        result: dict = {
            "statuses": n, "charged": charged, "seconds": round(seconds, 2), "statuses_per_s": round(throughput),
            "cpu_s_per_1000": cpu_delta(before, after, n),
            "peak_rss_mb": {name: round(max(x.peak_rss for x in procs if x.name == name) / 2**20, 1)
                            for name, _, _ in SERVICES},
            "latency": []}
        log(f"x{instances}: {round(throughput)} statuses/s end to end")
        result["caught_up_after_s"] = await groups.wait_caught_up(s.kafka_bootstrap, GROUPS)
        result["idle_cores"] = await idle_cores(s, procs, IDLE_SECONDS)
        log(f"x{instances}: cores used with no traffic: {result['idle_cores']}")
        for i, fraction in enumerate(rates):
            rate = throughput * fraction
            phase = f"{run}r{i}"
            load = traffic(phase, int(rate * rate_seconds), channels, seed=100 + i)
            sent_at: dict[str, float] = {}
            # Every service's backlog of the run before first (bench/groups.py).
            waited = await groups.wait_caught_up(s.kafka_bootstrap, GROUPS)
            relay_start = await hops.ends(s.kafka_bootstrap)
            with Sampler(s, procs) as sampler:
                before, started = sampler.cpu(), time.monotonic()
                _, count, behind = await publish(lp, MESSAGE_STATUS.name, load, rate, sent_at)
                await db.wait_debits(phase, len(sent_at), 600, procs)
                after, wall = sampler.cpu(), time.monotonic() - started
            committed = await db.commit_times(phase)
            lat = [committed[m] - t for m, t in sent_at.items()]
            ingest, balance = hops.split(sent_at, await hops.relayed_at(s.kafka_bootstrap, relay_start,
                                                                        f"wamid.{phase}."), committed)
            result["latency"].append({"fraction_of_throughput": fraction, "offered_statuses_per_s": round(rate),
                                      "statuses": count, "publisher_behind_max_ms": round(behind * 1000, 1),
                                      "services_caught_up_after_s": waited, **percentiles(lat),
                                      "ingest": percentiles(ingest), "balance": percentiles(balance),
                                      "cpu_s_per_1000": cpu_delta(before, after, count),
                                      "cores": cores_used(before, after, wall)})
            log(f"x{instances}: at {round(rate)}/s: {result['latency'][-1]}")
        result["peak_rss_mb"] = {name: round(max(x.peak_rss for x in procs if x.name == name) / 2**20, 1)
                                 for name, _, _ in SERVICES}
        result["db_growth_bytes"] = await db.size() - size_before
        # What invoicing issued by then (the directory's prorated licenses, prepayments of auto-renewals): each
        # invoice's documents take its workers about 0.3 CPU s on the same cores as the pipeline.
        result["invoices_so_far"] = {r["kind"]: r["n"] for r in await db.conn.fetch(  # type: ignore[union-attr]
            "SELECT kind, count(*) AS n FROM invoicing.invoices GROUP BY kind")}
        return result
    finally:
        await p.stop()
        await lp.stop()
        for proc in procs:
            proc.stop()


async def fresh_stack() -> StackSettings:
    s = bench_stack()
    await restart_empty(s)
    enable_commit_timestamps(s)
    return s


async def load_directory(s: StackSettings, db: Db) -> list[str]:
    directory, channels = directory_of(PARTNERS, CHANNELS_PER_PARTNER)
    p = await producer(s.kafka_bootstrap)
    try:
        for topic, records in ((RATECARDS.name, [(c.encode(), json.dumps(bench_card(c)).encode())
                                                 for c in ("EUR", "USD")]),
                               (DIRECTORY.name, directory)):
            for k, v in records:
                await p.send(topic, value=v, key=k)
        await p.flush()
    finally:
        await p.stop()
    return channels


async def wait_directory(db: Db, channels: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    sql = ("SELECT (SELECT count(*) FROM usage_ingest.channels) + (SELECT count(*) FROM balance.channels) "
           "+ (SELECT count(*) FROM usage_ingest.ratecards)")
    while await db.val(sql) != 2 * channels + 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the directory did not arrive")
        await asyncio.sleep(0.2)


async def prime(s: StackSettings, db: Db, channels: list[str], procs: Sequence[Proc]) -> float:
    """What a new directory of 2,000 channels sets off, done before anything is measured: every balance's
    first debit (and the top-up it may trigger), and the thousand prorated license invoices of the channels
    added, whose documents (PDF/A-3 and XML, about 0.3 CPU s each) take invoicing's workers minutes
    (`bench/close_month.py` measures documents). Returns the seconds until the debits, the invoices'
    documents and every consumer group were through."""
    started = time.monotonic()
    first = first_debits(channels, "prime")
    p = await producer(s.kafka_bootstrap)
    try:
        await publish(p, MESSAGE_STATUS.name, first)
    finally:
        await p.stop()
    await db.wait_debits("prime", sum(1 for x in first if x.charges), 600, procs)
    deadline = time.monotonic() + 1200
    # Invoicing queues an invoice's documents in the transaction that keeps its channel.
    while await db.val("SELECT count(*) FROM invoicing.channels") < len(channels):
        if time.monotonic() > deadline:
            raise TimeoutError("invoicing did not read the directory within 20 minutes")
        await asyncio.sleep(1.0)
    while await db.val("SELECT count(*) FROM invoicing.documents_pending"):
        if time.monotonic() > deadline:
            raise TimeoutError("the first invoices' documents were not made within 20 minutes")
        await asyncio.sleep(2.0)
    await groups.wait_caught_up(s.kafka_bootstrap, GROUPS)
    log(f"primed: every balance debited, the first invoices' documents made, in {time.monotonic() - started:.0f} s")
    return round(time.monotonic() - started, 1)


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "load_average": list(os.getloadavg())}


async def run(statuses: int, instances: Sequence[int], rates: Sequence[float], rate_seconds: float,
              max_records: int, profile: bool = False, raw: bool = True,
              latency_linger_ms: int | None = None) -> dict:
    out: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                 "settings": {"statuses": statuses, "instances": list(instances), "rates": list(rates),
                              "rate_seconds": rate_seconds, "batch_max_records": max_records,
                              "latency_publisher_linger_ms": (PRODUCER_OPTIONS["linger_ms"] if latency_linger_ms is None
                                                              else latency_linger_ms),
                              "partners": PARTNERS, "channels": PARTNERS * CHANNELS_PER_PARTNER},
                 "configs": []}
    s = await fresh_stack()
    try:
        async with Db(s) as db:
            channels = await load_directory(s, db)
            for n in instances:
                run_id = f"e2e{n}"
                load = traffic(run_id, statuses, channels, seed=n)
                warmup = traffic(f"{run_id}w", 4000, channels, seed=50 + n)
                if raw:
                    log(f"x{n}: raw limit with {len(load)} statuses")
                    raw_result = await raw_limit(s, n, load, warmup, max_records)
                    log(f"x{n}: raw {raw_result['statuses_per_s']} statuses/s")
                else:
                    raw_result = {"statuses_per_s": None}
                if n == instances[0]:
                    probe = start_services(s, 1, max_records)
                    try:
                        await wait_listening(probe)
                        await wait_directory(db, len(channels))
                        out["primed_s"] = await prime(s, db, channels, probe)
                    finally:
                        for pr in probe:
                            pr.stop()
                e2e = await pipeline(s, db, n, load, warmup, run_id, rates, rate_seconds, channels, max_records,
                                     profile, latency_linger_ms)
                ratio = e2e["statuses_per_s"] / raw_result["statuses_per_s"] if raw else 0.0
                out["configs"].append({"instances": n, "raw": raw_result, "pipeline": e2e, "ratio": round(ratio, 3)})
            out["db"] = {"size_mb": round(await db.size() / 2**20, 1)}
            total = sum(c["pipeline"]["statuses"] + sum(x["statuses"] for x in c["pipeline"]["latency"])
                        for c in out["configs"])
            growth = sum(c["pipeline"]["db_growth_bytes"] for c in out["configs"])
            out["db"]["mb_per_million_statuses"] = round(growth / total * 1e6 / 2**20, 1)
    finally:
        kafka.stop(s)
        postgres.stop(s)
    out["machine"]["load_average_end"] = list(os.getloadavg())
    return out


async def memory_run(statuses: int, max_records: int, sample_s: float = 2.0) -> dict:
    """One instance of each service through `statuses` statuses; RSS against the statuses processed."""
    out: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                 "statuses": statuses}
    s = await fresh_stack()
    try:
        async with Db(s) as db:
            channels = await load_directory(s, db)
            procs = start_services(s, 1, max_records)
            try:
                await wait_listening(procs)
                await wait_directory(db, len(channels))
                messages = round(statuses / STATUSES_PER_MESSAGE)
                charged_total = 0
                samples: list[dict] = []
                p = await producer(s.kafka_bootstrap)
                size_before = await db.size()
                done = asyncio.Event()

                async def sample() -> None:
                    async with Db(s) as own:  # a connection of its own: wait_debits uses `db` meanwhile
                        while not done.is_set():
                            await sample_once(own)

                async def sample_once(own: Db) -> None:
                    debits = await own.val("SELECT coalesce(max(entry_id), 0) FROM balance.ledger")
                    row = {"t": round(time.time() - started, 1), "debits": debits}
                    for pr in procs:
                        with contextlib.suppress(psutil.Error):
                            row[pr.name] = round(pr.rss() / 2**20, 1)
                    samples.append(row)
                    await asyncio.sleep(sample_s)

                started = time.time()
                sampler = asyncio.create_task(sample())
                counted: list[int] = [0]

                def counting(xs: Iterable[Status]) -> Iterable[Status]:
                    for x in xs:
                        if x.charges:
                            counted[0] += 1
                        yield x

                try:
                    _, n, _ = await publish(p, MESSAGE_STATUS.name,
                                            counting(stream(messages, channels, CHANNELS_PER_PARTNER, "mem")))
                    charged_total = counted[0]
                    log(f"memory run: {n} statuses published, waiting for {charged_total} debits")
                    await db.wait_debits("mem", charged_total, 3600, procs, poll_s=5.0)
                finally:
                    done.set()
                    await sampler
                    await p.stop()
                seconds = time.time() - started
                out.update({"statuses": n, "charged": charged_total, "seconds": round(seconds, 1),
                            "statuses_per_s": round(n / seconds), "samples": samples,
                            "db_growth_mb": round((await db.size() - size_before) / 2**20, 1)})
                out["mb_per_million_statuses"] = round(out["db_growth_mb"] / n * 1e6, 1)
                out["rss_mb"] = rss_summary(samples, charged_total, [name for name, _, _ in SERVICES])
            finally:
                for pr in procs:
                    pr.stop()
    finally:
        kafka.stop(s)
        postgres.stop(s)
    out["machine"]["load_average_end"] = list(os.getloadavg())
    return out


def rss_summary(samples: list[dict], total: int, names: Sequence[str]) -> dict:
    """RSS of each service when 10 %, 25 %, 50 %, 75 % and 100 % of the debits were done."""
    out: dict = {}
    for name in names:
        points = {}
        for q in (0.10, 0.25, 0.50, 0.75, 1.0):
            hit = next((x for x in samples if x["debits"] >= q * total and name in x), samples[-1])
            points[f"{int(q * 100)}%"] = hit.get(name)
        points["peak"] = max(x.get(name, 0) for x in samples)
        out[name] = points
    return out


# ---------------------------------------------------------------------------------------------------
# Output


def table(result: dict) -> str:
    lines = ["| instances | raw limit (statuses/s) | end to end (statuses/s) | ratio | "
             "CPU s/1,000 statuses: ingest / balance / invoicing / portal / PostgreSQL / Kafka | "
             "peak RSS MB: ingest / balance / invoicing / portal |",
             "|---|---|---|---|---|---|"]
    for c in result["configs"]:
        p, cpu, rss = c["pipeline"], c["pipeline"]["cpu_s_per_1000"], c["pipeline"]["peak_rss_mb"]
        lines.append(
            f"| {c['instances']} | {c['raw']['statuses_per_s'] or 0:,} | {p['statuses_per_s']:,} | "
            f"{c['ratio'] * 100:.0f} % | {cpu.get('usage-ingest', 0):.3f} / {cpu.get('balance', 0):.3f} / "
            f"{cpu.get('invoicing', 0):.3f} / {cpu.get('portal', 0):.3f} / {cpu.get('postgres', 0):.3f} / "
            f"{cpu.get('kafka', 0):.3f} | "
            f"{rss['usage-ingest']} / {rss['balance']} / {rss['invoicing']} / {rss.get('portal', '-')} |")
    lines += ["", "| instances | offered (statuses/s) | share of throughput | debits | p50 ms | p95 ms | "
                  "p99 ms | max ms | p50 / p99 ms: ingest part, balance part | cores used: ingest / balance / "
                  "invoicing / portal / PostgreSQL / Kafka |", "|---|---|---|---|---|---|---|---|---|---|"]
    for c in result["configs"]:
        for x in c["pipeline"]["latency"]:
            i, b, cores = x.get("ingest", {}), x.get("balance", {}), x.get("cores", {})
            lines.append(f"| {c['instances']} | {x['offered_statuses_per_s']:,} | "
                         f"{x['fraction_of_throughput'] * 100:.0f} % | {x.get('samples', 0):,} | "
                         f"{x.get('p50_ms')} | {x.get('p95_ms')} | {x.get('p99_ms')} | {x.get('max_ms')} | "
                         f"{i.get('p50_ms')} / {i.get('p99_ms')}, {b.get('p50_ms')} / {b.get('p99_ms')} | "
                         + " / ".join(f"{cores.get(k, 0):.2f}" for k in CORE_KINDS) + " |")
    lines += ["", "| instances | cores used with no traffic: ingest / balance / invoicing / portal / PostgreSQL / "
                  "Kafka (sum) |", "|---|---|"]
    for c in result["configs"]:
        idle = c["pipeline"].get("idle_cores", {})
        lines.append(f"| {c['instances']} | " + " / ".join(f"{idle.get(k, 0):.3f}" for k in CORE_KINDS)
                     + f" ({sum(idle.get(k, 0) for k in CORE_KINDS):.2f}) |")
    return "\n".join(lines)


def main(statuses: int = typer.Option(100_000, help="Statuses of the throughput runs (each config)."),
         instances: str = typer.Option("1,2", help="Instance counts of every service to measure."),
         rates: str = typer.Option("0.25,0.5,0.75", help="Offered loads for latency, as shares of the "
                                   "measured end-to-end throughput."),
         rate_seconds: float = typer.Option(20.0, help="How long each offered load lasts."),
         batch: int = typer.Option(2000, help="Batch size of every consumer (services and raw hops)."),
         close: bool = typer.Option(True, help="Also time the month close for 10,000 channels."),
         memory_run: bool = typer.Option(False, "--memory-run", help="Only the memory run: 2 million "
                                         "statuses (see --memory-statuses) through one instance each."),
         memory_statuses: int = typer.Option(2_000_000, help="Statuses of the memory run."),
         profile: bool = typer.Option(False, help="Profile every service (its first instance) during the "
                                      "throughput run with py-spy."),
         raw: bool = typer.Option(True, help="Measure the raw limit (off: only the pipeline, for profiling)."),
         publisher_linger_ms: int = typer.Option(None, help="linger_ms of the latency phases' publisher, which "
                                                 "stands for the upstream platform (default: the services' 5).")
         ) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    # The load generator holds hundreds of thousands of statuses: a full collection of them would
    # stall the open-loop publisher for a noticeable time, and their cycles are none.
    gc.disable()
    if memory_run:
        result = asyncio.run(memory_run_(memory_statuses, batch))
        (RESULTS / "memory.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
        return
    result = asyncio.run(run(statuses, [int(x) for x in instances.split(",")],
                             [float(x) for x in rates.split(",") if x], rate_seconds, batch, profile, raw,
                             publisher_linger_ms))
    if close:
        log("month close for 10,000 channels")
        # The documents of 200 of its invoices, extrapolated: all 10,150 take the better part of an hour.
        result["close_month"] = asyncio.run(close_month.run(100, 100, documents_limit=200))
    (RESULTS / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print()
    print(f"database: {result['db']['mb_per_million_statuses']} MB per million statuses")
    if "close_month" in result:
        c = result["close_month"]
        print(f"month close for {c['channels']:,} channels: {c['close_seconds']} s, with documents "
              f"{c.get('close_with_documents_seconds_at_full_cores')} s on idle cores "
              f"({c.get('document_cpu_seconds_per_invoice')} CPU s an invoice)")
    print(f"machine: {result['machine']}")


memory_run_ = memory_run

if __name__ == "__main__":
    typer.run(main)
