"""What each page shows, read in the principal's transaction (the same guards as the API)."""

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ..adapters import finance
from ..adapters.reads import Reads
from ..api.context import Context
from ..domain.forecast import forecast, window
from ..domain.principals import Principal

CHART_DAYS = 30


def chart(rows: list[Any], series_of) -> dict[str, Any]:
    """Chart.js data (days × series, amounts as strings) from daily spend rows; the table shows the same rows."""
    days = sorted({r["day"].isoformat() for r in rows})
    series: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in rows:
        series[series_of(r)][r["day"].isoformat()] = r["amount"]
    return {"labels": days, "datasets": [{"label": name, "data": [str(values.get(d, 0)) for d in days]}
                                         for name, values in sorted(series.items())]}


async def balance_view(reads: Reads, ctx: Context, owner_id: str) -> dict[str, Any] | None:
    row = await reads.balance(owner_id)
    if row is None:
        return None
    today = ctx.today()
    first, last = window(today)
    f = forecast(row["amount"], await reads.spend(row, first, last), today)
    # The chart ends today, or on the last day with usage when that was longer ago than the chart spans.
    last_used = await reads.last_usage_day(row)
    end = today if last_used is None or last_used > today - timedelta(days=CHART_DAYS) else last_used
    spend = await reads.daily_spend(row, end - timedelta(days=CHART_DAYS - 1), end)
    by = (lambda r: f"{r['client_name']} · {r['category']}") if row["kind"] == "partner" else (
        lambda r: r["category"])
    return {"balance": row, "forecast": f, "spend": spend, "chart": chart(spend, by),
            "payments": await reads.payments(owner_id), "requests": await reads.topup_requests(owner_id),
            "events": await reads.events(owner_id), "chart_days": CHART_DAYS,
            "chart_from": end - timedelta(days=CHART_DAYS - 1), "chart_to": end}


async def home_view(reads: Reads, ctx: Context, principal: Principal) -> dict[str, Any]:
    """A partner's or a client's overview: balances, clients and channels, recent invoices."""
    balances = await reads.balances(None, 100)
    invoices = await reads.invoices(None, None, None, 20)
    channels = await reads.channels()
    clients = await reads.clients()
    partner = await reads.partner(principal.id) if principal.kind == "partner" else None
    views = [v for b in balances if (v := await balance_view(reads, ctx, b["owner_id"]))]
    usage = []
    month = None
    if principal.kind == "client":
        # This month's usage, or that of the last month with usage.
        last = await reads.conn.fetchval("SELECT max(day) FROM usage_days WHERE client_id = $1", principal.id)
        month = (last or ctx.today()).strftime("%Y-%m")
        usage = await reads.usage(month, None, None, 100)
    return {"partner": partner, "balances": views, "invoices": invoices, "channels": channels, "clients": clients,
            "usage": usage, "usage_month": month, "usage_chart": chart(usage, lambda r: f"{r['channel_id']} · {r['category']}")}


async def finance_view(reads: Reads, ctx: Context) -> dict[str, Any]:
    rows = await finance.balances_overview(reads.conn, ctx.today(), ctx.settings.low_days)
    recon = await finance.reconciliation(reads.conn)
    return {"partners": await reads.partners(),
            "depleted": [r for r in rows if r["amount"] <= 0],
            "low": [r for r in rows if finance.is_low(r, ctx.settings.low_days)],
            "balances": rows, "months": await finance.months(reads.conn),
            "dead_letters": await finance.dead_letters(reads.conn),
            "reconciliation": recon, "checks": json.loads(recon["checks"]) if recon else [],
            "low_days": ctx.settings.low_days}
