"""Calendar months as the contract writes them: "2026-10", the UTC month."""

import calendar
from datetime import UTC, datetime


def month_of(at: datetime) -> str:
    # Once per debit and per priced status: the contracts' times are UTC already, and formatting the
    # two fields is a third of `strftime`'s cost.
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return f"{at.year:04d}-{at.month:02d}"


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
