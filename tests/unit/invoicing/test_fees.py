"""The fees of CONTRACT.md §4.2, proration by day, and month arithmetic, as pure functions."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.invoicing.domain.fees import CARD_FEE_RATE, LICENSE_PRICES, PLAN_PRICES, card_fee, prorated
from shared.months import days_in, month_of, month_start, next_month, previous_month

D = Decimal


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_price_list_is_the_contracts_in_both_currencies():
    """Plans growth 500.00 and premium 1000.00; licenses 25.00, 49.00 and 249.00; card fee 4 %."""
    assert PLAN_PRICES == {"growth": D("500.00"), "premium": D("1000.00")}
    assert LICENSE_PRICES == {"regular": D("25.00"), "premium": D("49.00"), "high_throughput": D("249.00")}
    assert CARD_FEE_RATE == D("0.04")


@pytest.mark.parametrize("month, days", [("2026-01", 31), ("2026-02", 28), ("2026-03", 31), ("2026-04", 30),
                                         ("2026-12", 31), ("2028-02", 29), ("2100-02", 28)])
def test_days_in_a_month_follow_the_gregorian_calendar(month, days):
    """28, 29 in a leap year (not in 2100), 30 and 31."""
    assert days_in(month) == days


@pytest.mark.parametrize("month, following", [("2026-01", "2026-02"), ("2026-09", "2026-10"),
                                              ("2026-11", "2026-12"), ("2026-12", "2027-01")])
def test_the_next_month_rolls_over_into_the_next_year_after_december(month, following):
    """2026-11 → 2026-12 → 2027-01."""
    assert next_month(month) == following
    assert previous_month(following) == month


def test_the_previous_month_of_january_is_december_of_the_year_before():
    """2027-01 → 2026-12."""
    assert previous_month("2027-01") == "2026-12"


def test_a_months_start_is_midnight_utc_of_its_first_day_and_month_of_reads_it_back():
    """2026-02 starts at 2026-02-01T00:00:00Z; the last second of January is still 2026-01."""
    assert month_start("2026-02") == datetime(2026, 2, 1, tzinfo=UTC)
    assert month_of(month_start("2026-02")) == "2026-02"
    assert month_of(day("2026-01-31T23:59:59")) == "2026-01"


def test_month_of_reads_a_time_with_an_offset_in_utc():
    """00:30 on 1 March at +01:00 is still February in UTC; 23:30 on 28 February at -01:00 is March."""
    from datetime import timedelta, timezone
    assert month_of(datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == "2026-02"
    assert month_of(datetime(2026, 2, 28, 23, 30, tzinfo=timezone(timedelta(hours=-1)))) == "2026-03"


# (start, price) → (amount, active days, days of the month): the 1st, the 15th and the last day of a
# 28-, 30-, 31- and 29-day month, for every license and plan.
PRORATIONS = [
    ("2026-02-01", "25.00", "25.00", 28, 28), ("2026-02-15", "25.00", "12.50", 14, 28),
    ("2026-02-28", "25.00", "0.89", 1, 28),
    ("2026-04-01", "25.00", "25.00", 30, 30), ("2026-04-15", "25.00", "13.33", 16, 30),
    ("2026-04-30", "25.00", "0.83", 1, 30),
    ("2026-03-01", "25.00", "25.00", 31, 31), ("2026-03-15", "25.00", "13.71", 17, 31),
    ("2026-03-31", "25.00", "0.81", 1, 31),
    ("2026-02-15", "49.00", "24.50", 14, 28), ("2026-02-28", "49.00", "1.75", 1, 28),
    ("2026-04-15", "49.00", "26.13", 16, 30), ("2026-04-30", "49.00", "1.63", 1, 30),
    ("2026-03-15", "49.00", "26.87", 17, 31), ("2026-03-31", "49.00", "1.58", 1, 31),
    ("2026-02-15", "249.00", "124.50", 14, 28), ("2026-04-15", "249.00", "132.80", 16, 30),
    ("2026-03-15", "249.00", "136.55", 17, 31), ("2026-03-31", "249.00", "8.03", 1, 31),
    ("2026-02-01", "500.00", "500.00", 28, 28), ("2026-02-15", "500.00", "250.00", 14, 28),
    ("2026-02-28", "500.00", "17.86", 1, 28),
    ("2026-04-01", "500.00", "500.00", 30, 30), ("2026-04-15", "500.00", "266.67", 16, 30),
    ("2026-04-30", "500.00", "16.67", 1, 30),
    ("2026-03-01", "500.00", "500.00", 31, 31), ("2026-03-15", "500.00", "274.19", 17, 31),
    ("2026-03-31", "500.00", "16.13", 1, 31),
    ("2026-02-15", "1000.00", "500.00", 14, 28), ("2026-04-15", "1000.00", "533.33", 16, 30),
    ("2026-03-15", "1000.00", "548.39", 17, 31), ("2026-03-31", "1000.00", "32.26", 1, 31),
    ("2028-02-01", "25.00", "25.00", 29, 29), ("2028-02-15", "1000.00", "517.24", 15, 29),
    ("2028-02-29", "49.00", "1.69", 1, 29),
]


@pytest.mark.parametrize("start, price, amount, active, of", PRORATIONS)
def test_proration_counts_the_start_day_to_the_months_end_both_included_and_rounds_half_up(
        start, price, amount, active, of):
    """price × active_days / days_in_month, to the cent."""
    got = prorated(D(price), day(f"{start}T00:00:00"))
    assert got == (D(amount), active, of)
    assert str(got[0]) == amount


def test_proration_depends_on_the_start_day_not_the_time_of_day():
    """Starting at 23:59 on 2026-02-10 still counts the 10th: 19 of 28 days, 49.00 × 19/28 = 33.25."""
    assert prorated(D("49.00"), day("2026-02-10T23:59:59")) == (D("33.25"), 19, 28)
    assert prorated(D("49.00"), day("2026-02-10T00:00:00")) == (D("33.25"), 19, 28)


@pytest.mark.parametrize("paid, fee", [("100.00", "4.00"), ("50.00", "2.00"), ("10.125", "0.41"),
                                       ("3.125", "0.13"), ("0.10", "0.00"), ("12.34", "0.49")])
def test_the_card_fee_is_4_percent_rounded_half_up_to_the_cent(paid, fee):
    """0.405 → 0.41 and 0.125 → 0.13 (half up, not half even); 0.004 → 0.00."""
    assert str(card_fee(D(paid))) == fee
