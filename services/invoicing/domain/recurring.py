"""Which partner plans and channel licenses are due, and their lines (CONTRACT.md §4.2).

Recurring fees are billed in advance: closing month M bills M+1 for every
channel whose billing started before M+1 and that was not cancelled before
M+1, and for every partner created before M+1. The month a channel or partner
starts is billed prorated by day, in arrears (at that month's close, or, for a
Direct-Paid channel, as soon as it is added). A (channel, month) or (partner,
month) already billed is never billed again, and one that was missed (the
directory announced it late) is billed at the next close.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.contracts import InvoiceLine
from shared.months import month_of, next_month

from .directory import Channel, Partner
from .fees import LICENSE_PRICES, PLAN_PRICES, prorated


@dataclass(frozen=True, slots=True)
class Due:
    """One billable (subject, month) and its invoice line."""

    item: str  # "license" or "plan"
    subject_id: str
    month: str
    line: InvoiceLine


def _months(start: datetime, last: str | None, through: str) -> list[str]:
    """The start month, and every month after it up to `through`, none after `last`."""
    months, m = [], month_of(start)
    while m <= through and (last is None or m <= last):
        months.append(m)
        m = next_month(m)
    return months


def license_due(channel: Channel, closing: str) -> list[Due]:
    """Closing month `closing`: the start month prorated if it is `closing` or earlier, full months
    after it up to `closing`+1; none after the month of cancellation."""
    last = month_of(channel.cancelled_at) if channel.cancelled_at else None
    start = month_of(channel.billing_started_at)
    return [license_line(channel, m) for m in _months(channel.billing_started_at, last, next_month(closing))
            if m != start or start <= closing]


def license_line(channel: Channel, month: str) -> Due:
    price = LICENSE_PRICES[channel.license]
    who = dict(client_id=channel.client_id, channel_id=channel.channel_id, service_month=month)
    if month == month_of(channel.billing_started_at):
        amount, active, of = prorated(price, channel.billing_started_at)
        line = InvoiceLine(code="license_prorated", quantity="1", unit_price=amount, amount=amount,
                           description=f"License {channel.license}, {channel.channel_id}, {month} "
                                       f"({active} of {of} days)", **who)
    else:
        line = InvoiceLine(code="license", quantity="1", unit_price=price, amount=price,
                           description=f"License {channel.license}, {channel.channel_id}, {month}", **who)
    return Due("license", channel.channel_id, month, line)


def plan_due(partner: Partner, closing: str) -> list[Due]:
    start = month_of(partner.created_at)
    return [plan_line(partner, m) for m in _months(partner.created_at, None, next_month(closing))
            if m != start or start <= closing]


def plan_line(partner: Partner, month: str) -> Due:
    price = PLAN_PRICES[partner.plan]
    name = partner.plan.capitalize()
    if month == month_of(partner.created_at):
        amount, active, of = prorated(price, partner.created_at)
        line = InvoiceLine(code="partner_plan_prorated", quantity="1", unit_price=amount, amount=amount,
                           description=f"Partner plan {name}, {month} ({active} of {of} days)",
                           service_month=month)
    else:
        line = InvoiceLine(code="partner_plan", quantity="1", unit_price=price, amount=price,
                           description=f"Partner plan {name}, {month}", service_month=month)
    return Due("plan", partner.partner_id, month, line)


def existed_during(partner: Partner, month: str) -> bool:
    return month_of(partner.created_at) <= month

