"""Settled messages summed per channel, UTC day and category: the portal's usage per day.

One batch settles many messages; what the portal needs of them is how many
were charged and free, and what the charged ones cost, per (channel, day,
category). Summing here keeps the feed to one record per group and batch,
never one per message.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.contracts import LightPricedUsage, LightUsageDay
from shared.money import plain

from .accounts import ChannelAccount
from .charging import MessageState


@dataclass(frozen=True, slots=True)
class DayDelta:
    """What one batch added to a (channel, day, category), with the channel's owners."""

    account: ChannelAccount
    day: date
    category: str
    charged: int
    free: int
    amount: Decimal


def usage_days(charged: Iterable[LightPricedUsage], free: Iterable[MessageState],
               accounts: dict[str, ChannelAccount]) -> list[DayDelta]:
    """The batch's charged usage and free messages, summed per (channel, day, category)."""
    sums: dict[tuple[str, date, str], list] = {}
    for u in charged:
        row = sums.setdefault((u.channel_id, u.billed_at.date(), u.category), [0, 0, Decimal(0)])
        row[0] += 1
        row[2] += u.amount
    for s in free:
        assert s.delivered_at is not None and s.pricing is not None  # settled free: delivered and priced
        row = sums.setdefault((s.channel_id, s.delivered_at.date(), s.pricing.category), [0, 0, Decimal(0)])
        row[1] += 1
    return [DayDelta(accounts[channel], day, category, n, f, amount)
            for (channel, day, category), (n, f, amount) in sorted(sums.items())]


def usage_day(account: ChannelAccount, day: date, category: str, charged: int, free: int, amount: Decimal,
              version: int) -> LightUsageDay:
    """The running totals of a (channel, day, category) after a batch, as the portal reads them."""
    return LightUsageDay(usage_day_id=f"{account.channel_id}/{day.isoformat()}/{category}/{version}",
                    channel_id=account.channel_id, client_id=account.client_id, partner_id=account.partner_id,
                    billing_model=account.billing_model, currency=account.currency, day=day, category=category,
                    charged=charged, free=free, amount=plain(amount), version=version)
