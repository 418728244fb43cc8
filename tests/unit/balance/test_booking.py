"""The month a movement is booked to, and the months a close covers (CONTRACT.md §4.3), as pure rules."""

from datetime import UTC, datetime

from services.balance.domain.booking import booked_month, months_between
from shared.months import month_of, next_month


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_month_of_a_time_is_its_utc_calendar_month():
    """The first and the last instant of a month belong to it."""
    assert month_of(utc("2026-10-01T00:00:00Z")) == "2026-10"
    assert month_of(utc("2026-10-31T23:59:59.999999Z")) == "2026-10"
    assert month_of(utc("2026-11-01T00:30:00+01:00").astimezone(UTC)) == "2026-10"


def test_the_next_month_rolls_over_december_into_january():
    """2026-12 → 2027-01, and every other month to the following one in the same year."""
    assert next_month("2026-12") == "2027-01"
    assert next_month("2026-01") == "2026-02"
    assert next_month("2026-09") == "2026-10"
    assert next_month("2026-11") == "2026-12"


def test_with_nothing_closed_a_movement_is_booked_to_its_own_month():
    """No month closed yet: the month of the movement's own time."""
    assert booked_month(utc("2026-10-31T23:59:59Z"), None) == "2026-10"
    assert booked_month(utc("2020-01-05T00:00:00Z"), None) == "2020-01"


def test_a_movement_of_an_open_month_is_booked_to_its_own_month():
    """Its month is after the last closed one: booked there, however far ahead."""
    assert booked_month(utc("2026-11-01T00:00:00Z"), "2026-10") == "2026-11"
    assert booked_month(utc("2027-03-15T00:00:00Z"), "2026-10") == "2027-03"


def test_a_movement_of_a_closed_month_is_booked_to_the_earliest_open_month():
    """The closed month itself, or any earlier one: the month after the last closed."""
    assert booked_month(utc("2026-10-31T23:59:59Z"), "2026-10") == "2026-11"
    assert booked_month(utc("2026-08-02T00:00:00Z"), "2026-10") == "2026-11"
    assert booked_month(utc("2026-12-31T23:59:59Z"), "2026-12") == "2027-01"


def test_closing_a_month_when_nothing_is_closed_closes_just_that_month():
    """No earlier month is invented: just the one asked."""
    assert months_between(None, "2026-10") == ["2026-10"]


def test_closing_the_month_after_the_last_closed_closes_just_that_month():
    """2026-10 closed, close 2026-11: only 2026-11."""
    assert months_between("2026-10", "2026-11") == ["2026-11"]


def test_closing_a_later_month_closes_every_month_in_between_in_order():
    """2026-10 closed, close 2027-01: 2026-11, 2026-12, 2027-01, across the year."""
    assert months_between("2026-10", "2026-12") == ["2026-11", "2026-12"]
    assert months_between("2026-10", "2027-01") == ["2026-11", "2026-12", "2027-01"]


def test_closing_an_already_closed_month_closes_nothing_new():
    """The last closed month or an earlier one: no month to close."""
    assert months_between("2026-10", "2026-10") == []
    assert months_between("2026-10", "2026-08") == []
