"""What the API and the pages read, each query filtered to the principal (and, under it, RLS).

Every method runs in the request's transaction (`sessions.principal_transaction`).
Lists are keyset-paginated: they take the sort key after which the page starts.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from ..domain.principals import Principal
from .visibility import QueryFilters

BALANCE_COLUMNS = "owner_id, kind, partner_id, client_id, billing_model, currency, amount, version, updated_at"


class Reads:
    def __init__(self, conn: asyncpg.Connection, principal: Principal, filters: QueryFilters) -> None:
        self.conn = conn
        self.principal = principal
        self.filters = filters

    def _where(self, args: list[Any], partner_col: str = "partner_id", client_col: str = "client_id") -> str:
        return self.filters.where(self.principal, partner_col, client_col, args)

    # -- balances --------------------------------------------------------------------------------

    async def balances(self, after: str | None, limit: int) -> list[asyncpg.Record]:
        args: list[Any] = [after or "", limit]
        return await self.conn.fetch(
            f"SELECT {BALANCE_COLUMNS} FROM balances WHERE owner_id > $1 AND {self._where(args)} "
            "ORDER BY owner_id LIMIT $2", *args)

    async def balance(self, owner_id: str) -> asyncpg.Record | None:
        args: list[Any] = [owner_id]
        return await self.conn.fetchrow(
            f"SELECT {BALANCE_COLUMNS} FROM balances WHERE owner_id = $1 AND {self._where(args)}", *args)

    async def spend(self, balance: asyncpg.Record, first: date, last: date) -> Decimal:
        """Usage that debited this balance on these days: every channel of a Partner-Paid partner, or
        the Direct-Paid channel itself."""
        column = "partner_id" if balance["kind"] == "partner" else "channel_id"
        args: list[Any] = [balance["owner_id"], first, last]
        return await self.conn.fetchval(
            f"SELECT coalesce(sum(amount), 0) FROM usage_days WHERE {column} = $1 AND day BETWEEN $2 AND $3 "
            f"AND {self._where(args)}", *args)

    async def balance_and_spend(self, owner_id: str, first: date, last: date) -> asyncpg.Record | None:
        """A balance with its `spend` on these days, in one round trip (the forecast's two reads)."""
        args: list[Any] = [owner_id, first, last]
        usage = self._where(args, "u.partner_id", "u.client_id")
        spent = ("(SELECT coalesce(sum(u.amount), 0) FROM usage_days u WHERE u.{} = b.owner_id "
                 f"AND u.day BETWEEN $2 AND $3 AND {usage})")
        return await self.conn.fetchrow(
            f"""SELECT {BALANCE_COLUMNS}, CASE WHEN b.kind = 'partner' THEN {spent.format('partner_id')}
                                               ELSE {spent.format('channel_id')} END AS spent
                FROM balances b WHERE b.owner_id = $1 AND {self._where(args, 'b.partner_id', 'b.client_id')}""", *args)

    async def last_usage_day(self, balance: asyncpg.Record) -> date | None:
        column = "partner_id" if balance["kind"] == "partner" else "channel_id"
        args: list[Any] = [balance["owner_id"]]
        return await self.conn.fetchval(
            f"SELECT max(day) FROM usage_days WHERE {column} = $1 AND {self._where(args)}", *args)

    async def daily_spend(self, balance: asyncpg.Record, first: date, last: date) -> list[asyncpg.Record]:
        """Spend per day, client and category on these days, for a balance's chart."""
        column = "u.partner_id" if balance["kind"] == "partner" else "u.channel_id"
        args: list[Any] = [balance["owner_id"], first, last]
        return await self.conn.fetch(
            f"""SELECT u.day, u.client_id, coalesce(c.name, u.client_id) AS client_name, u.category,
                       sum(u.charged) AS charged, sum(u.free) AS free, sum(u.amount) AS amount
                FROM usage_days u LEFT JOIN clients c ON c.client_id = u.client_id
                WHERE {column} = $1 AND u.day BETWEEN $2 AND $3 AND {self._where(args, 'u.partner_id', 'u.client_id')}
                GROUP BY u.day, u.client_id, c.name, u.category ORDER BY u.day, u.client_id, u.category""", *args)

    # -- invoices ----------------------------------------------------------------------------------

    async def invoices(self, period: str | None, kind: str | None, after: tuple[str, str] | None,
                       limit: int) -> list[asyncpg.Record]:
        args: list[Any] = [period, kind, after[0] if after else None, after[1] if after else "", limit]
        return await self.conn.fetch(
            f"""SELECT invoice_id, number, kind, period, issued_at, currency, total, recipient_id, body,
                       to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS sort_at
                FROM invoices WHERE ($1::text IS NULL OR period = $1) AND ($2::text IS NULL OR kind = $2)
                AND ($3::text IS NULL OR (to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                          invoice_id) < ($3, $4))
                AND {self._where(args)}
                ORDER BY issued_at DESC, invoice_id DESC LIMIT $5""", *args)

    async def invoice(self, invoice_id: str) -> asyncpg.Record | None:
        args: list[Any] = [invoice_id]
        return await self.conn.fetchrow(
            f"SELECT invoice_id, number, body FROM invoices WHERE invoice_id = $1 AND {self._where(args)}", *args)

    async def document(self, invoice_id: str, formats: tuple[str, ...]) -> asyncpg.Record | None:
        """The first of `formats` that exists for a visible invoice."""
        args: list[Any] = [invoice_id, list(formats)]
        return await self.conn.fetchrow(
            f"""SELECT format, media_type, filename, content FROM invoice_documents
                WHERE invoice_id = $1 AND format = ANY($2::text[]) AND {self._where(args)}
                ORDER BY array_position($2::text[], format) LIMIT 1""", *args)

    # -- usage -------------------------------------------------------------------------------------

    async def usage(self, month: str, channel_id: str | None, after: tuple[str, str, str] | None,
                    limit: int) -> list[asyncpg.Record]:
        first = date.fromisoformat(f"{month}-01")
        args: list[Any] = [first, channel_id, after[0] if after else "", after[1] if after else "",
                           after[2] if after else "", limit]
        return await self.conn.fetch(
            f"""SELECT channel_id, client_id, category, day, charged, free, amount, currency FROM usage_days
                WHERE day >= $1 AND day < ($1 + interval '1 month') AND ($2::text IS NULL OR channel_id = $2)
                AND (to_char(day, 'YYYY-MM-DD'), channel_id, category) > ($3, $4, $5) AND {self._where(args)}
                ORDER BY day, channel_id, category LIMIT $6""", *args)

    async def usage_at_cost(self, client_id: str, month: str) -> list[asyncpg.Record]:
        first = date.fromisoformat(f"{month}-01")
        args: list[Any] = [client_id, first]
        return await self.conn.fetch(
            f"""SELECT channel_id, category, sum(charged) AS messages, sum(amount) AS cost FROM usage_days
                WHERE client_id = $1 AND day >= $2 AND day < ($2 + interval '1 month') AND {self._where(args)}
                GROUP BY channel_id, category ORDER BY channel_id, category""", *args)

    # -- directory ---------------------------------------------------------------------------------

    async def partner(self, partner_id: str) -> asyncpg.Record | None:
        args: list[Any] = [partner_id]
        return await self.conn.fetchrow(f"SELECT * FROM partners WHERE partner_id = $1 AND {self._where(args)}",
                                        *args)

    async def partners(self) -> list[asyncpg.Record]:
        args: list[Any] = []
        return await self.conn.fetch(f"SELECT * FROM partners WHERE {self._where(args)} ORDER BY partner_id", *args)

    async def client(self, client_id: str) -> asyncpg.Record | None:
        args: list[Any] = [client_id]
        return await self.conn.fetchrow(f"SELECT * FROM clients WHERE client_id = $1 AND {self._where(args)}", *args)

    async def clients(self) -> list[asyncpg.Record]:
        args: list[Any] = []
        return await self.conn.fetch(f"SELECT * FROM clients WHERE {self._where(args)} ORDER BY client_id", *args)

    async def channels(self) -> list[asyncpg.Record]:
        args: list[Any] = []
        return await self.conn.fetch(
            f"""SELECT ch.*, b.amount, b.currency, b.owner_id AS balance_id FROM channels ch
                LEFT JOIN balances b ON b.owner_id = ch.channel_id
                WHERE {self._where(args, 'ch.partner_id', 'ch.client_id')} ORDER BY ch.client_id, ch.channel_id""",
            *args)

    # -- money movements ---------------------------------------------------------------------------

    async def payments(self, owner_id: str, limit: int = 20) -> list[asyncpg.Record]:
        args: list[Any] = [owner_id, limit]
        return await self.conn.fetch(
            f"SELECT * FROM payments WHERE owner_id = $1 AND {self._where(args)} ORDER BY occurred_at DESC LIMIT $2",
            *args)

    async def events(self, owner_id: str, limit: int = 20) -> list[asyncpg.Record]:
        args: list[Any] = [owner_id, limit]
        return await self.conn.fetch(
            f"SELECT * FROM balance_events WHERE owner_id = $1 AND {self._where(args)} ORDER BY at DESC LIMIT $2",
            *args)

    async def topup_requests(self, owner_id: str, limit: int = 20) -> list[asyncpg.Record]:
        args: list[Any] = [owner_id, limit]
        return await self.conn.fetch(
            f"""SELECT r.*, p.entry_id AS paid_by, p.occurred_at AS paid_at FROM topup_requests r
                LEFT JOIN payments p ON p.kind = 'payment' AND p.topup_request_id = r.request_id
                WHERE r.owner_id = $1 AND {self._where(args, 'r.partner_id', 'r.client_id')}
                ORDER BY r.requested_at DESC LIMIT $2""", *args)

    # -- markups -----------------------------------------------------------------------------------

    async def markups(self, partner_id: str) -> dict[str, Decimal]:
        args: list[Any] = [partner_id]
        rows = await self.conn.fetch(
            f"SELECT category, percent FROM markups WHERE partner_id = $1 AND {self._where(args)}", *args)
        return {r["category"]: r["percent"] for r in rows}

    async def categories(self, partner_id: str) -> list[str]:
        args: list[Any] = [partner_id]
        rows = await self.conn.fetch(
            f"SELECT DISTINCT category FROM usage_days WHERE partner_id = $1 AND {self._where(args)} ORDER BY 1",
            *args)
        return [r["category"] for r in rows]
