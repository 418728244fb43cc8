"""A partner's re-billing statement: its client's usage of a month at cost, its own markup, the price.

No anchor offers this; resellers ask for it. Per (channel, category) the
statement shows the messages, their cost (the exact charged amounts), the
partner's markup for the category (a percentage it sets in the portal, 0 when
unset) and the price: cost × (1 + markup / 100), rounded half up to cents once
per line. The totals are sums of the lines.
"""

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shared.money import plain

CENT = Decimal("0.01")
MAX_MARKUP = Decimal(1000)


class MarkupError(ValueError):
    """A markup that cannot be a price: negative, absurd, or not a number with at most 2 decimals."""


def parse_markup(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().rstrip("%").strip())
    except (InvalidOperation, AttributeError):
        raise MarkupError(f"markup must be a percentage such as 15 or 12.5, got {text!r}") from None
    if not value.is_finite() or value != value.quantize(CENT):
        raise MarkupError(f"markup must have at most 2 decimals, got {text!r}")
    if value < 0:
        raise MarkupError(f"markup must not be negative, got {value} %")
    if value > MAX_MARKUP:
        raise MarkupError(f"markup must be at most {MAX_MARKUP} %, got {value} %")
    return value


@dataclass(frozen=True, slots=True)
class UsageAtCost:
    channel_id: str
    category: str
    messages: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class StatementLine:
    channel_id: str
    category: str
    messages: int
    cost: Decimal
    markup_percent: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    partner_id: str
    client_id: str
    client_name: str
    month: str
    currency: str
    lines: list[StatementLine]

    @property
    def cost(self) -> Decimal:
        return sum((line.cost for line in self.lines), Decimal(0))

    @property
    def price(self) -> Decimal:
        return sum((line.price for line in self.lines), Decimal("0.00"))

    @property
    def messages(self) -> int:
        return sum(line.messages for line in self.lines)


def price_of(cost: Decimal, markup_percent: Decimal) -> Decimal:
    return (cost * (1 + markup_percent / 100)).quantize(CENT, ROUND_HALF_UP)


def statement(partner_id: str, client_id: str, client_name: str, month: str, currency: str,
              usage: list[UsageAtCost], markups: dict[str, Decimal]) -> Statement:
    lines = [StatementLine(u.channel_id, u.category, u.messages, u.cost, markups.get(u.category, Decimal(0)),
                           price_of(u.cost, markups.get(u.category, Decimal(0))))
             for u in sorted(usage, key=lambda u: (u.channel_id, u.category)) if u.messages]
    return Statement(partner_id, client_id, client_name, month, currency, lines)


def to_csv(s: Statement) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["partner_id", "client_id", "month", "currency", "channel_id", "category", "messages",
                "cost", "markup_percent", "price"])
    for line in s.lines:
        w.writerow([s.partner_id, s.client_id, s.month, s.currency, line.channel_id, line.category,
                    line.messages, plain(line.cost), plain(line.markup_percent), line.price])
    w.writerow([s.partner_id, s.client_id, s.month, s.currency, "total", "", s.messages, plain(s.cost), "", s.price])
    return out.getvalue()
