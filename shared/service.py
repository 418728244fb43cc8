"""The frame every service runs in: a FastStream app behind an ASGI server.

It wires the parts every service has (logging, metrics, the broker, the
database pool after migrating the service's schema) and serves
`/health/live`, `/health/ready` and `/metrics`. uvicorn turns SIGTERM into a
graceful shutdown: the subscribers stop taking batches, the batch in hand
finishes and commits, then the broker and the pool close.
"""

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import asyncpg
import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app

from . import published_positions
from .consumer import Input, subscribe_batches
from .db import create_pool, migrate_async, ping
from .dead_letters import DeadLetterSink
from .kafka import make_broker
from .lag import LagMonitor
from .logging import configure_logging, get_logger
from .metrics import ServiceMetrics
from .outbox import OutboxRelay
from .outbox_publisher import OutboxPublisher, producer_of
from .positions import KafkaPositions
from .published import Published
from .rebalance import StoredPositionsListener, check_stored
from .settings import ServiceSettings
from .stored_positions import PositionStore
from .topics import Topic


class Runtime:
    """What a service's handlers share: settings, broker, metrics and (once started) the pool."""

    def __init__(self, name: str, schema: str, migrations: Path, settings: ServiceSettings) -> None:
        configure_logging(settings.log_level, settings.log_json)
        self.name = name
        self.schema = schema
        self.migrations = migrations
        self.settings = settings
        self.log = get_logger(name, service=name)
        self.metrics = ServiceMetrics(name)
        self.broker: KafkaBroker = make_broker(settings.kafka, f"billing-{name}", self.metrics.registry)
        self._pool: asyncpg.Pool | None = None
        self._jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.dead_letters: DeadLetterSink | None = None
        self.relay: OutboxRelay | None = None
        # Replaces asyncpg's session reset on release (see shared.db.create_pool).
        self.pool_reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
        self.positions = PositionStore(lambda: self.pool)
        self.lost_positions: dict[str, str] = {}  # "topic/partition" → why it is not read
        self._before_consuming: list[Callable[[], Awaitable[None]]] = []
        self.stopping = asyncio.Event()  # set when shutdown begins: a batch that waits gives up

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name}: the database pool is used before start-up")
        return self._pool

    async def open_database(self) -> None:
        applied = await migrate_async(self.settings.db, self.schema, self.migrations)
        if applied:
            self.log.info("migrations applied", schema=self.schema, migrations=applied)
        self._pool = await create_pool(self.settings.db, self.schema, f"billing-{self.name}", self.pool_reset)

    async def connect_broker(self) -> None:
        """Reach the broker (and log in) before start-up completes: FastStream starts the broker
        after it reports the app started, so a wrong password or an unreachable broker would
        otherwise leave a process that serves HTTP but never gets ready. Failing here exits."""
        await self.broker.connect()

    def before_consuming(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` at start-up, once the database and the broker answer, before any record is consumed
        (a failure stops the start: the process exits non-zero)."""
        self._before_consuming.append(job)

    async def prepare(self) -> None:
        for job in self._before_consuming:
            await job()

    def position_problem(self, topic: str, partition: int, problem: str | None) -> None:
        """A partition whose stored position cannot be used (`problem`), or can again (None)."""
        key = f"{topic}/{partition}"
        self.metrics.positions_lost.labels(self.name, topic, str(partition)).set(1 if problem else 0)
        if problem:
            self.lost_positions[key] = problem
        else:
            self.lost_positions.pop(key, None)

    async def begin_stop(self) -> None:
        self.stopping.set()

    async def settle(self) -> None:
        """Publish what committed transactions left in the outbox."""
        if self.relay is not None:
            await self.relay.drain()

    async def close_database(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def run_in_background(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` from start-up until shutdown (an outbox relay, a sweeper)."""
        self._jobs.append((name, job))

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` every `interval_s` seconds; a failure is logged and the next run goes on."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.metrics.job_failures.labels(self.name, name).inc()
                    self.log.exception("background job failed", job=name)
                await asyncio.sleep(interval_s)

        self.run_in_background(name, loop)

    def outbox(self, topics: Sequence[tuple[Topic, type, str]], track: Sequence[Topic] = ()) -> OutboxRelay:
        """Declare a publisher per topic the outbox feeds (so the AsyncAPI document shows them) and
        relay the outbox to those topics in the background (through the producer itself,
        `shared/outbox_publisher.py`); returns the relay for handlers to drain. On the
        topics of `track` the relay records how far its publications reach (the schema needs the
        `published_positions` table)."""
        for t, schema, description in topics:
            self.broker.publisher(t.name, title=f"{t.name}:publish", schema=schema, description=description)
        publish = OutboxPublisher(lambda: producer_of(self.broker), self.metrics.registry, f"billing-{self.name}",
                                  frozenset(t.name for t in track))

        async def load_origin() -> None:
            publish.origin = await published_positions.origin(self.pool)

        if track:
            self.before_consuming(load_origin)  # before the relay runs (it starts after start-up)

        published = Published(self.metrics, self.log, self.settings.log_usage)
        relay = self.relay = OutboxRelay(lambda: self.pool, publish, on_published=published.observe,
                                         track=[t.name for t in track])
        self.run_in_background("outbox relay", relay.run)

        async def backlog() -> None:
            self.metrics.outbox_pending.labels(self.name).set(await relay.pending())

        self.every("outbox backlog", max(self.settings.lag_interval_s, 5.0), backlog)
        return relay

    def close_on_stop(self, close: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(close)

    async def start_background(self) -> None:
        self._tasks = [asyncio.create_task(job(), name=name) for name, job in self._jobs]

    async def stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for close in self._closers:
            await close()

    async def ready(self) -> bool:
        return (not self.lost_positions and self._pool is not None and await ping(self._pool)
                and await self.broker.ping(2.0))


def build_app(runtime: Runtime, title: str, description: str,
              on_started: Callable[[], Awaitable[None]] | None = None) -> AsgiFastStream:
    """The ASGI app of one service: broker lifecycle, database, probes and metrics."""

    @get(include_in_schema=False)
    async def live(scope: object) -> AsgiResponse:
        return AsgiResponse(b"ok", 200)

    @get(include_in_schema=False)
    async def ready(scope: object) -> AsgiResponse:
        if await runtime.ready():
            return AsgiResponse(b"ready", 200)
        return AsgiResponse(b"not ready", 503)

    app = AsgiFastStream(
        runtime.broker,
        asgi_routes=[("/health/live", live), ("/health/ready", ready),
                     ("/metrics", make_asgi_app(runtime.metrics.registry))],
        on_startup=[runtime.open_database, runtime.connect_broker, runtime.prepare],
        after_startup=[runtime.start_background, *([on_started] if on_started else [])],
        on_shutdown=[runtime.begin_stop],
        # After the broker stopped: the last batch is committed, then jobs stop, then the pool closes.
        after_shutdown=[runtime.stop_background, runtime.close_database],
        specification=AsyncAPI(title=title, description=description, version="1.0.0"),
        logger=runtime.log,
    )
    return app


def serve(app: AsgiFastStream, settings: ServiceSettings) -> None:
    """Run until SIGTERM/SIGINT; uvicorn drives the lifespan, our logging config stays."""
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the
    # handler that was there before it: make that one report the clean stop as 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False, timeout_graceful_shutdown=30, lifespan="on")


def build_service(runtime: Runtime, inputs: Sequence[Input], title: str, description: str,
                  on_started: Callable[[], Awaitable[None]] | None = None) -> AsgiFastStream:
    """Subscribe every input in batches, with a DLQ publisher for each topic the service owns."""
    settings = runtime.settings
    group_id = getattr(settings, "group_id", f"billing-{runtime.name}")
    sink = runtime.dead_letters = DeadLetterSink(
        runtime.broker, [t for i in inputs if i.owns_dead_letters for t in (i.topic, *i.extra_topics)],
        runtime.metrics)
    topics = [t.name for i in inputs for t in (i.topic, *i.extra_topics)]
    for spec in inputs:
        listener = StoredPositionsListener(runtime.positions, group_id, runtime.settle,
                                           lambda tp, why: runtime.position_problem(tp.topic, tp.partition, why))
        # A router per input: FastStream starts a broker's own subscribers in no fixed order (they are
        # kept in a WeakSet) but routers in the order they were included, and each start waits for its
        # consumer's first assignment; so the inputs are served from start-up in the order listed.
        router = KafkaRouter()
        subscribe_batches(router, spec, settings=settings, group_id=group_id, sink=sink,  # type: ignore[arg-type]
                          metrics=runtime.metrics, positions=runtime.positions, listener=listener)
        runtime.broker.include_router(router)

    async def refuse_lost_positions() -> None:
        kafka = KafkaPositions(settings.kafka, f"billing-{runtime.name}-positions")
        try:
            await check_stored(runtime.positions, kafka, group_id, topics)
        finally:
            await kafka.close()

    runtime.before_consuming(refuse_lost_positions)
    if settings.lag_interval_s > 0:
        lag = LagMonitor(settings.kafka, group_id, topics, runtime.metrics)
        runtime.every("consumer lag", settings.lag_interval_s, lag.update)
        runtime.close_on_stop(lag.close)
    return build_app(runtime, title, description, on_started)
