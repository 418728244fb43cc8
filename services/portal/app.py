"""Portal: a read model of balances, usage and invoices built from topics, the HTTP API and pages.

The only module that knows every part of the service and wires them. One
process: the Kafka consumers (handlers.py) keep the read model; the HTTP
layer (api/, pages/) reads it under row-level security. The frame's ASGI app
(health, metrics, the broker's lifecycle) and the FastAPI app are served
side by side by path.
"""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.contracts import TopupRequest
from shared.service import Runtime, build_service
from shared.settings import PortalSettings
from shared.topics import TOPUP_REQUESTS

from . import handlers
from .adapters.model import unit_of_work
from .api.app import create_api
from .api.context import Context

NAME = "portal"
_FRAME_PATHS = ("/health/live", "/health/ready", "/metrics")


class Portal:
    """Routes lifespan and the frame's paths to FastStream's app, everything else to FastAPI."""

    def __init__(self, frame: AsgiFastStream, api) -> None:
        self.frame, self.api = frame, api
        self.broker = frame.broker  # for the AsyncAPI document and the ACLs, as the other services expose it
        self.schema = frame.schema

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan" or scope.get("path", "").startswith(_FRAME_PATHS):
            await self.frame(scope, receive, send)
        else:
            await self.api(scope, receive, send)


async def keep_session(conn: object) -> None:
    """Nothing to reset when a connection goes back to the pool: the principal, the role and every
    other setting are transaction-local (set_config(..., true)), so a request saves asyncpg's reset
    round trip (an open transaction is still rolled back by asyncpg itself)."""


def create_app(settings: PortalSettings | None = None) -> Portal:
    settings = settings or PortalSettings()
    runtime = Runtime(NAME, "portal", Path(__file__).parent / "migrations", settings)
    runtime.pool_reset = keep_session
    relay = runtime.outbox([(TOPUP_REQUESTS, TopupRequest,
                             "Top-ups asked for in the portal, for balance to announce as topup.requested.")])
    ctx = Context(lambda: runtime.pool, settings, published=relay.wake)
    uow = unit_of_work(lambda: runtime.pool)
    frame = build_service(runtime, handlers.inputs(uow, settings), "Portal", __doc__ or "",
                          on_started=ctx.as_of.refresh)
    runtime.every("read model time", settings.as_of_interval_s, ctx.as_of.refresh)
    return Portal(frame, create_api(ctx))
