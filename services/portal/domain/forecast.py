"""When a balance runs out at its recent pace: spend per day over the last 7 days, and the date.

Resellers ask for it and no anchor offers it. The pace is the usage of the
7 UTC days ending today (today counted, so a busy morning shows at once),
divided by 7. Without spend there is no pace and no date (`None`); a balance
already at or below zero is out today.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class Forecast:
    spend_per_day: Decimal | None
    zero_on: date | None


def window(today: date) -> tuple[date, date]:
    """The first and last day whose spend counts."""
    return today - timedelta(days=WINDOW_DAYS - 1), today


def forecast(amount: Decimal, spend_in_window: Decimal, today: date) -> Forecast:
    if spend_in_window <= 0:
        return Forecast(None, None)
    per_day = (spend_in_window / WINDOW_DAYS).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    if amount <= 0:
        return Forecast(per_day, today)
    if per_day == 0:
        return Forecast(per_day, None)
    days_left = int(amount / per_day)  # whole days the balance still covers
    try:
        return Forecast(per_day, today + timedelta(days=days_left))
    except OverflowError:  # a pace so slow the date is past year 9999
        return Forecast(per_day, None)
