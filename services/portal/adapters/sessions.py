"""The API's database sessions: an API key's owner, and each request's transaction under RLS.

A request's queries run in one transaction that first becomes the
`billing_portal_reader` role (no ownership, no BYPASSRLS) and names the
principal, both with `set_config(..., true)`: transaction-local, so a pooled
connection never carries one request's principal into the next.
"""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from ..domain.keys import hash_key, looks_like_key
from ..domain.principals import KINDS, Principal

READER_ROLE = "billing_portal_reader"


class Keys:
    """Finds the principal of an API key, remembering answers for `cache_s` (revocation takes that long)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], cache_s: float) -> None:
        self._pool = pool
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def principal(self, key: str) -> Principal | None:
        if not looks_like_key(key):
            return None
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._cache_s:
            return hit[1]
        row = await self._pool().fetchrow(
            "SELECT principal_kind, principal_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            hash_key(key))
        found = Principal(row["principal_kind"], row["principal_id"]) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, found)
        return found


class AsOf:
    """The read model's time (its newest applied record), refreshed in the background, not per request."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool
        self.value: datetime | None = None

    async def refresh(self) -> None:
        self.value = await self._pool().fetchval("SELECT max(latest_event_at) FROM model_state")


def _literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings, PostgreSQL's default since 9.1)."""
    return "'" + text.replace("'", "''") + "'"


def principal_transaction(pool: Callable[[], asyncpg.Pool]):
    """`async with tx(principal) as conn`: one transaction as the reader role, for this principal.

    BEGIN and the settings go in one round trip (a simple query of two statements: the principal's
    id is a quoted literal), then the queries, then COMMIT (ROLLBACK on an error)."""

    @asynccontextmanager
    async def transaction(principal: Principal) -> AsyncIterator[asyncpg.Connection]:
        if principal.kind not in KINDS:
            raise ValueError(principal.kind)
        async with pool().acquire() as conn:
            await conn.execute(
                f"BEGIN; SELECT set_config('role', '{READER_ROLE}', true), "
                f"set_config('portal.kind', '{principal.kind}', true), "
                f"set_config('portal.id', {_literal(principal.id or '')}, true)")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    return transaction
