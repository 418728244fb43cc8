"""`python -m ops.reconcile_metrics`: the reconciliation as Prometheus metrics, for alerting.

Runs `ops.reconcile` every `--interval` seconds and serves the last result on
`/metrics` (port `--port`). Deployed as one long-running replica next to the
services (deploy/k8s/reconciler.yaml, the `reconciler` service of
deploy/docker-compose.yml) and scraped like them: no Pushgateway and no
node-exporter textfile directory is needed, and a reconciler that stops
running is seen (its `last_run` stops moving, or its target is down).

On a live system the newest charges are still on their way to the ledger:
only charges older than `--min-age` seconds are judged, so a failing check
means money that stayed wrong, not work in flight.

    billing_reconcile_check_ok{check}           1 when the invariant holds, 0 when broken
    billing_reconcile_problems{check}           problems found (at most 20 are listed per check)
    billing_reconcile_last_run_timestamp_seconds        when a run last completed
    billing_reconcile_run_failures_total        runs that could not complete (database unreachable)
    billing_reconcile_duration_seconds          how long the last run took
"""

import asyncio
import re
import time

import typer
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from shared.logging import configure_logging, get_logger
from shared.settings import DatabaseSettings, KafkaSettings

from .reconcile import Check, publish_result, reconcile

log = get_logger("reconciler", service="reconciler")


def slug(name: str) -> str:
    """A check's label value: its sentence in snake case."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class ReconcileMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.ok = Gauge("billing_reconcile_check_ok", "1 when the invariant holds, 0 when it is broken.",
                        ["check"], registry=r)
        self.problems = Gauge("billing_reconcile_problems", "Problems the check found (listed up to 20).",
                              ["check"], registry=r)
        self.last_run = Gauge("billing_reconcile_last_run_timestamp_seconds",
                              "When the reconciliation last completed.", registry=r)
        self.failures = Counter("billing_reconcile_run_failures_total",
                                "Reconciliation runs that could not complete.", registry=r)
        self.duration = Gauge("billing_reconcile_duration_seconds", "How long the last run took.", registry=r)

    def record(self, checks: list[Check], seconds: float) -> None:
        for c in checks:
            self.ok.labels(slug(c.name)).set(1 if c.ok else 0)
            self.problems.labels(slug(c.name)).set(len(c.problems))
        self.duration.set(seconds)
        self.last_run.set_to_current_time()


async def run_once(metrics: ReconcileMetrics, db: DatabaseSettings, min_age_s: float,
                   kafka: KafkaSettings | None = None) -> list[Check] | None:
    """With `kafka`, the result is also published for the portal's finance view."""
    started = time.monotonic()
    try:
        checks = await reconcile(db, settle_s=0.0, min_age_s=min_age_s)
    except Exception:
        metrics.failures.inc()
        log.exception("reconciliation could not run")
        return None
    if kafka is not None:
        try:
            await publish_result(checks, kafka)
        except Exception:  # the metrics stand on their own; the next run publishes again
            log.exception("reconciliation result could not be published")
    metrics.record(checks, time.monotonic() - started)
    for c in checks:
        if not c.ok:
            log.error("reconciliation failed", check=slug(c.name), problems=c.problems[:20])
    log.info("reconciliation ran", ok=all(c.ok for c in checks), seconds=round(time.monotonic() - started, 3))
    return checks


async def loop(metrics: ReconcileMetrics, db: DatabaseSettings, interval_s: float, min_age_s: float,
               kafka: KafkaSettings | None = None) -> None:
    while True:
        await run_once(metrics, db, min_age_s, kafka)
        await asyncio.sleep(interval_s)


def main(port: int = typer.Option(9108, help="Port of /metrics."),
         host: str = typer.Option("0.0.0.0", help="Bind address of /metrics."),
         interval: float = typer.Option(300.0, help="Seconds between runs."),
         min_age: float = typer.Option(300.0, help="Judge only charges at least this many seconds old."),
         publish: bool = typer.Option(False, "--publish", help="Publish each run's result for the portal's "
                                      "finance view (billing.internal.reconciliation.v1; BILLING_KAFKA_*).")) -> None:
    """Reconcile every INTERVAL seconds and serve the result on /metrics."""
    configure_logging()
    metrics = ReconcileMetrics()
    start_http_server(port, addr=host, registry=metrics.registry)
    log.info("reconciler serving", port=port, interval_s=interval, min_age_s=min_age)
    asyncio.run(loop(metrics, DatabaseSettings(), interval, min_age, KafkaSettings() if publish else None))


if __name__ == "__main__":
    typer.run(main)
