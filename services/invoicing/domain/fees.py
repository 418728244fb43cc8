"""The fees of CONTRACT.md §4.2, proration by day, and month arithmetic."""

from datetime import datetime
from decimal import Decimal

from shared.money import round_line
from shared.months import days_in, month_of

PLAN_PRICES = {"growth": Decimal("500.00"), "premium": Decimal("1000.00")}
LICENSE_PRICES = {"regular": Decimal("25.00"), "premium": Decimal("49.00"), "high_throughput": Decimal("249.00")}
CARD_FEE_RATE = Decimal("0.04")


def prorated(price: Decimal, start: datetime) -> tuple[Decimal, int, int]:
    """`price × active_days / days_in_month`, rounded half up to cents, for a start on `start`'s day:
    active days count from that day to the month's end, both included. Returns (amount, days, of)."""
    month = month_of(start)
    total = days_in(month)
    active = total - start.day + 1
    return round_line(price * active / total), active, total


def card_fee(amount: Decimal) -> Decimal:
    return round_line(amount * CARD_FEE_RATE)
