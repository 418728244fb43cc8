"""The month a movement is booked to (CONTRACT.md §4.3)."""

from datetime import datetime

from shared.months import month_of, next_month


def booked_month(at: datetime, last_closed: str | None) -> str:
    """The month of `at` if it is still open, else the earliest open month.

    Months close in order, so the open ones are exactly those after the last
    closed one.
    """
    own = month_of(at)
    if last_closed is None or own > last_closed:
        return own
    return next_month(last_closed)


def earliest_open(at: datetime, last_closed: str | None) -> str:
    """The earliest month not closed: the month after the last closed one (the month of `at` while
    nothing is closed). A credit note corrects the past, so it is booked to the first month whose
    closing is still to come, never after it."""
    return month_of(at) if last_closed is None else next_month(last_closed)


def months_between(after: str | None, through: str) -> list[str]:
    """The months after `after` up to and including `through` (just `through` when nothing closed yet)."""
    if after is None or after >= through:
        return [through] if after is None else []
    months, m = [], next_month(after)
    while m <= through:
        months.append(m)
        m = next_month(m)
    return months
