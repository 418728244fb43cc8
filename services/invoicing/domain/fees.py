"""The fees of CONTRACT.md §4.2, proration by day, and month arithmetic."""

import calendar
from datetime import UTC, datetime
from decimal import Decimal

from shared.money import round_line

PLAN_PRICES = {"growth": Decimal("500.00"), "premium": Decimal("1000.00")}
LICENSE_PRICES = {"regular": Decimal("25.00"), "premium": Decimal("49.00"), "high_throughput": Decimal("249.00")}
CARD_FEE_RATE = Decimal("0.04")


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")


def next_month(month: str) -> str:
    year, m = int(month[:4]), int(month[5:7])
    return f"{year + m // 12}-{m % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, m = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"


def days_in(month: str) -> int:
    return calendar.monthrange(int(month[:4]), int(month[5:7]))[1]


def month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)


def prorated(price: Decimal, start: datetime) -> tuple[Decimal, int, int]:
    """`price × active_days / days_in_month`, rounded half up to cents, for a start on `start`'s day:
    active days count from that day to the month's end, both included. Returns (amount, days, of)."""
    month = month_of(start)
    total = days_in(month)
    active = total - start.day + 1
    return round_line(price * active / total), active, total


def card_fee(amount: Decimal) -> Decimal:
    return round_line(amount * CARD_FEE_RATE)
