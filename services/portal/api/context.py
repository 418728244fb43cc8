"""What the HTTP layer shares: the pool, key lookup, the model's time, the query filters, the clock.

`Context.session(principal)` is a request's transaction as the reader role,
with `Reads` over it. The routes get the principal from `authenticated`.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from fastapi import Request

from shared.settings import PortalSettings

from ..adapters.reads import Reads
from ..adapters.sessions import AsOf, Keys, principal_transaction
from ..adapters.visibility import QueryFilters
from ..domain.cursors import CursorError, decode_cursor
from ..domain.links import Signer
from ..domain.principals import Principal
from .errors import ApiError


@dataclass
class Context:
    pool: Callable[[], asyncpg.Pool]
    settings: PortalSettings
    filters: QueryFilters = field(default_factory=QueryFilters)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    published: Callable[[], None] = lambda: None  # wakes the outbox relay after a command was queued

    def __post_init__(self) -> None:
        self.keys = Keys(self.pool, self.settings.key_cache_s)
        self.as_of = AsOf(self.pool)
        self.signer = Signer(self.settings.link_secret.get_secret_value())
        self._tx = principal_transaction(self.pool)

    def today(self) -> date:
        return self.clock().date()

    @asynccontextmanager
    async def session(self, principal: Principal) -> AsyncIterator[Reads]:
        async with self._tx(principal) as conn:
            yield Reads(conn, principal, self.filters)


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hand-off per request.
    return request.app.state.context


async def authenticated(request: Request) -> Principal:
    """The principal of the request's `Authorization: Bearer <api key>`; 401 without a valid one."""
    return await principal_of(request.app.state.context, request.headers.get("authorization", ""))


async def principal_of(ctx: Context, authorization: str) -> Principal:
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing_api_key", "send Authorization: Bearer <api key>")
    principal = await ctx.keys.principal(key.strip())
    if principal is None:
        raise ApiError(401, "invalid_api_key", "this API key is unknown or revoked")
    return principal


def after(kind: str, cursor: str | None, arity: int) -> list | None:
    """The sort key a list's page starts after, from the previous page's cursor; 400 for a bad one."""
    if not cursor:
        return None
    try:
        return decode_cursor(kind, cursor, arity)
    except CursorError as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
