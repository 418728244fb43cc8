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
from ..domain.principals import Principal

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


def principal_transaction(pool: Callable[[], asyncpg.Pool]):
    """`async with tx(principal) as conn`: one transaction as the reader role, for this principal."""

    @asynccontextmanager
    async def transaction(principal: Principal) -> AsyncIterator[asyncpg.Connection]:
        async with pool().acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT set_config('role', $1, true), set_config('portal.kind', $2, true), "
                "set_config('portal.id', $3, true)", READER_ROLE, principal.kind, principal.id or "")
            yield conn

    return transaction
