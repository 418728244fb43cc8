"""Which plans and licenses a close bills (CONTRACT.md §4.2), as pure functions.

`license_due` and `plan_due` list every (subject, month) from the start month
up to the month billed in advance, M+1; leaving out what was already billed
is the caller's job (tested in test_service.py).
"""

from datetime import UTC, datetime
from decimal import Decimal

from services.invoicing.domain.directory import Channel, Partner
from services.invoicing.domain.recurring import (Due, existed_during, license_due, license_line, plan_due,
                                                 plan_line)
from shared.contracts import InvoiceLine

D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def chan(started: str, license_: str = "regular", cancelled: str | None = None,
         channel_id: str = "acmeCH0001") -> Channel:
    return Channel(channel_id, "acmePA", "bobCL", license_, at(started), at(cancelled) if cancelled else None)


def partner(created: str, plan: str = "growth") -> Partner:
    return Partner("acmePA", "Acme Messaging GmbH", "partner_paid", "EUR", plan, at(created), "DE", "DE123456789")


def lic(month: str, amount: str, license_: str = "regular", days: tuple[int, int] | None = None,
        channel_id: str = "acmeCH0001") -> Due:
    """The license Due of one month: prorated when `days` (active, of) is given."""
    description = f"License {license_}, {channel_id}, {month}" + (f" ({days[0]} of {days[1]} days)" if days else "")
    return Due("license", channel_id, month, InvoiceLine(
        code="license_prorated" if days else "license", description=description, quantity="1",
        unit_price=D(amount), amount=D(amount), service_month=month, client_id="bobCL", channel_id=channel_id))


def plan(month: str, amount: str, name: str = "Growth", days: tuple[int, int] | None = None) -> Due:
    description = f"Partner plan {name}, {month}" + (f" ({days[0]} of {days[1]} days)" if days else "")
    return Due("plan", "acmePA", month, InvoiceLine(
        code="partner_plan_prorated" if days else "partner_plan", description=description, quantity="1",
        unit_price=D(amount), amount=D(amount), service_month=month))


def months(dues: list[Due]) -> list[str]:
    return [d.month for d in dues]


# --- licenses ------------------------------------------------------------------------------------


def test_closing_the_start_month_bills_it_prorated_and_the_next_month_in_full():
    """B premium from 2026-02-10, closing 2026-02: 49.00 × 19/28 = 33.25 for February, 49.00 for March."""
    assert license_due(chan("2026-02-10T09:30:00Z", "premium"), "2026-02") == [
        lic("2026-02", "33.25", "premium", (19, 28)), lic("2026-03", "49.00", "premium")]


def test_a_channel_starting_next_month_is_not_billed_in_advance_by_this_close():
    """Billing started on 2026-03-01, not before M+1: closing 2026-02 bills nothing for it."""
    assert license_due(chan("2026-03-01T00:00:00Z"), "2026-02") == []
    assert license_due(chan("2026-02-10T00:00:00Z"), "2026-01") == []


def test_a_channel_starting_on_the_1st_is_billed_its_whole_start_month_as_prorated_at_that_months_close():
    """From 2026-04-01: closing 2026-04 bills 30 of 30 days (25.00, code license_prorated) and May."""
    assert license_due(chan("2026-04-01T00:00:00Z"), "2026-04") == [
        lic("2026-04", "25.00", days=(30, 30)), lic("2026-05", "25.00")]


def test_every_month_from_the_start_to_the_month_after_the_close_is_due_until_the_caller_filters_it():
    """From 2026-01-01, closing 2026-02: January prorated (31 of 31), February and March in full."""
    assert license_due(chan("2026-01-01T00:00:00Z"), "2026-02") == [
        lic("2026-01", "25.00", days=(31, 31)), lic("2026-02", "25.00"), lic("2026-03", "25.00")]


def test_a_channel_cancelled_mid_month_is_billed_through_that_month_and_not_after():
    """Cancelled 2026-03-17: closing 2026-02 still bills March; closing March or April bills no April."""
    c = chan("2026-01-01T00:00:00Z", cancelled="2026-03-17T12:00:00Z")
    assert months(license_due(c, "2026-02")) == ["2026-01", "2026-02", "2026-03"]
    assert months(license_due(c, "2026-03")) == ["2026-01", "2026-02", "2026-03"]
    assert months(license_due(c, "2026-04")) == ["2026-01", "2026-02", "2026-03"]


def test_a_cancellation_at_the_first_instant_of_a_month_still_bills_that_month():
    """Cancelled 2026-04-01T00:00:00Z is not before April: closing March bills April; 23:59:59 the day
    before does not."""
    assert months(license_due(chan("2026-03-01T00:00:00Z", cancelled="2026-04-01T00:00:00Z"), "2026-03")) == [
        "2026-03", "2026-04"]
    assert months(license_due(chan("2026-03-01T00:00:00Z", cancelled="2026-03-31T23:59:59Z"), "2026-03")) == [
        "2026-03"]


def test_a_channel_cancelled_in_its_start_month_is_billed_that_month_prorated_only():
    """From 2026-03-15, cancelled 2026-03-20: 25.00 × 17/31 = 13.71 for March, nothing for April."""
    assert license_due(chan("2026-03-15T00:00:00Z", cancelled="2026-03-20T00:00:00Z"), "2026-03") == [
        lic("2026-03", "13.71", days=(17, 31))]


def test_the_close_of_december_bills_january_of_the_next_year():
    """From 2026-12-31 (1 of 31 days, 0.81), closing 2026-12 bills 2027-01 in full."""
    assert license_due(chan("2026-12-31T08:00:00Z"), "2026-12") == [
        lic("2026-12", "0.81", days=(1, 31)), lic("2027-01", "25.00")]


def test_a_high_throughput_license_line_carries_its_client_and_channel():
    """249.00 × 16/30 = 132.80 for April 2026 from the 15th; client and channel on the line."""
    due = license_line(chan("2026-04-15T00:00:00Z", "high_throughput", channel_id="acmeCH0009"), "2026-04")
    assert due == lic("2026-04", "132.80", "high_throughput", (16, 30), channel_id="acmeCH0009")
    assert (due.line.client_id, due.line.channel_id) == ("bobCL", "acmeCH0009")


# --- plans ---------------------------------------------------------------------------------------


def test_a_partner_created_mid_month_is_billed_its_plan_prorated_for_that_month_and_in_full_for_the_next():
    """Created 2026-02-15, closing 2026-02: 500.00 × 14/28 = 250.00 for February, 500.00 for March."""
    assert plan_due(partner("2026-02-15T10:00:00Z"), "2026-02") == [
        plan("2026-02", "250.00", days=(14, 28)), plan("2026-03", "500.00")]


def test_a_premium_plan_created_on_the_15th_of_a_31_day_month():
    """1000.00 × 17/31 = 548.39 for 2026-03; 1000.00 for 2026-04."""
    assert plan_due(partner("2026-03-15T00:00:00Z", "premium"), "2026-03") == [
        plan("2026-03", "548.39", "Premium", (17, 31)), plan("2026-04", "1000.00", "Premium")]


def test_a_partner_created_on_the_last_day_of_a_30_day_month_pays_one_day():
    """Created 2026-04-30: 500.00 × 1/30 = 16.67."""
    assert plan_line(partner("2026-04-30T23:00:00Z"), "2026-04") == plan("2026-04", "16.67", days=(1, 30))


def test_a_partner_created_next_month_is_not_billed_by_this_close():
    """Created 2026-03-01: closing 2026-02 bills no plan."""
    assert plan_due(partner("2026-03-01T00:00:00Z"), "2026-02") == []


def test_a_partner_existed_during_its_creation_month_and_every_month_after():
    """Created 2026-02-15: not during January; during February and March."""
    p = partner("2026-02-15T10:00:00Z")
    assert [existed_during(p, m) for m in ("2026-01", "2026-02", "2026-03")] == [False, True, True]
