"""What the API writes, as the reader role under RLS: top-up requests (and their command) and markups."""

from datetime import datetime
from decimal import Decimal

import asyncpg

from shared.contracts import Account, TopupRequest, encode
from shared.outbox import OutboxRecord, enqueue
from shared.topics import TOPUP_REQUESTS

from ..domain.principals import Principal


async def find_topup(conn: asyncpg.Connection, principal: Principal, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM topup_requests WHERE principal = $1 AND idempotency_key = $2",
                               principal.label, key)


async def add_topup(conn: asyncpg.Connection, principal: Principal, key: str, request_id: str,
                    balance: asyncpg.Record, amount: Decimal, at: datetime) -> bool:
    """Keep the request and queue its command to balance; False when this key was taken meanwhile."""
    added = await conn.fetchval(
        """INSERT INTO topup_requests (request_id, owner_id, partner_id, client_id, principal, idempotency_key,
                                       amount, currency, requested_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING true""",
        request_id, balance["owner_id"], balance["partner_id"], balance["client_id"], principal.label, key,
        amount, balance["currency"], at)
    if not added:
        return False
    owner = balance["owner_id"]
    account = Account(partner_id=owner) if balance["kind"] == "partner" else Account(channel_id=owner)
    command = TopupRequest(type="topup.request", request_id=request_id, balance=account, amount=amount,
                           currency=balance["currency"], requested_by=principal.label, requested_at=at)
    await enqueue(conn, [OutboxRecord(TOPUP_REQUESTS.name, owner.encode(), encode(command))])
    return True


async def set_markup(conn: asyncpg.Connection, partner_id: str, category: str, percent: Decimal) -> None:
    await conn.execute(
        "INSERT INTO markups (partner_id, category, percent) VALUES ($1, $2, $3) "
        "ON CONFLICT (partner_id, category) DO UPDATE SET percent = excluded.percent", partner_id, category, percent)
