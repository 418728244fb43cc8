"""Finance's views: every partner's balance, the low and the depleted, months, dead letters, reconciliation.

Read in finance's transaction: the tables of dead letters, months and runs
have no partner or client, so row-level security shows them to finance only.
"""

from datetime import date, timedelta
from decimal import Decimal

import asyncpg


async def balances_overview(conn: asyncpg.Connection, today: date, low_days: int) -> list[asyncpg.Record]:
    """Every balance with its threshold and 7-day spend; low when below its threshold or out within
    `low_days` at that pace, depleted at or below zero."""
    return await conn.fetch(
        """SELECT b.owner_id, b.kind, b.partner_id, p.name AS partner_name, b.client_id, b.billing_model,
                  b.currency, b.amount, b.updated_at,
                  CASE WHEN b.kind = 'partner' THEN p.renewal_threshold ELSE ch.renewal_threshold END AS threshold,
                  coalesce(s.spend, 0) AS spend_7d
           FROM balances b
           LEFT JOIN partners p ON p.partner_id = b.partner_id
           LEFT JOIN channels ch ON ch.channel_id = b.owner_id
           LEFT JOIN LATERAL (SELECT sum(u.amount) AS spend FROM usage_days u
                              WHERE (CASE WHEN b.kind = 'partner' THEN u.partner_id ELSE u.channel_id END) = b.owner_id
                              AND u.day BETWEEN $1 AND $2) s ON true
           ORDER BY b.amount, b.owner_id""", today - timedelta(days=6), today)


def is_low(row: asyncpg.Record, low_days: int) -> bool:
    amount: Decimal = row["amount"]
    if amount <= 0:
        return False  # depleted, listed as such
    if row["threshold"] is not None and amount < row["threshold"]:
        return True
    per_day = row["spend_7d"] / 7
    return per_day > 0 and amount / per_day < low_days


async def months(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT m.*, (SELECT count(*) FROM invoices i WHERE i.period = m.month AND i.kind = 'month_closing')
                       AS closing_invoices
           FROM months m ORDER BY m.month DESC LIMIT 24""")


async def dead_letters(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT source_topic, code, count(*) AS letters, max(failed_at) AS latest FROM dead_letters
           GROUP BY source_topic, code ORDER BY source_topic, code""")


async def reconciliation(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT run_id, ran_at, checks::text AS checks FROM reconciliation_runs "
                               "ORDER BY ran_at DESC LIMIT 1")
