"""Usage ingest: WhatsApp message statuses in, deduplicated priced usage out (CONTRACT.md §4.1).

The only module that knows every part of the service and wires them.
"""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.consumer import Input
from shared.service import Runtime, build_service
from shared.settings import UsageIngestSettings
from shared.topics import DIRECTORY, MESSAGE_STATUS, RATECARDS

NAME = "usage-ingest"


def create_app(settings: UsageIngestSettings | None = None) -> AsgiFastStream:
    runtime = Runtime(NAME, "usage_ingest", Path(__file__).parent / "migrations",
                      settings or UsageIngestSettings())
    inputs = [
        Input(MESSAGE_STATUS, "WhatsApp message statuses (CONTRACT.md §3.1), deduplicated and priced."),
        # Usage ingest owns the directory's and rate cards' dead letters (billing_model_change, …).
        Input(DIRECTORY, "Partners, clients and channels (§3.2): whose balance a channel's usage debits."),
        Input(RATECARDS, "Rate cards (§3.3): what a delivered message costs."),
    ]
    return build_service(runtime, inputs, "Usage ingest", __doc__ or "")
