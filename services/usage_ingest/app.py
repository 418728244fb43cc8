"""Usage ingest: WhatsApp message statuses in, deduplicated priced usage out (CONTRACT.md §4.1).

The only module that knows every part of the service and wires them.
"""

from datetime import UTC, datetime
from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import PricedUsage, UsageDay
from shared.service import Runtime, build_service
from shared.settings import UsageIngestSettings
from shared.topics import USAGE_DAYS, USAGE_PRICED

from . import handlers, service
from .adapters.late_dead_letters import LateDeadLetters
from .adapters.postgres import RateBookCache, unit_of_work
from .domain.participants import ParticipantKeys

NAME = "usage-ingest"


def create_app(settings: UsageIngestSettings | None = None) -> AsgiFastStream:
    settings = settings or UsageIngestSettings()
    runtime = Runtime(NAME, "usage_ingest", Path(__file__).parent / "migrations", settings)
    uow = unit_of_work(lambda: runtime.pool, RateBookCache())

    relay = runtime.outbox([(USAGE_PRICED, PricedUsage,
                             "One record per charged message, keyed by the balance it debits."),
                            (USAGE_DAYS, UsageDay, "Running totals per channel, day and category after each "
                             "batch (the portal's usage per day).")])

    keys = ParticipantKeys(settings.participant_key.get_secret_value().encode())
    app = build_service(runtime, handlers.inputs(uow, relay.drain, keys), "Usage ingest", __doc__ or "")

    assert runtime.dead_letters is not None
    late = LateDeadLetters(lambda: runtime.pool, runtime.dead_letters, settings.kafka)
    runtime.close_on_stop(late.close)

    rates_seen: list[int | None] = [None]

    async def sweep() -> None:
        report = await service.sweep(uow, datetime.now(UTC), settings.hold_s, rates_seen[0])
        rates_seen[0] = report.rates_version
        if report.settled:
            relay.wake()
        while await late.publish_once():
            pass

    runtime.every("held statuses sweeper", settings.sweep_interval_s, sweep)
    return app
