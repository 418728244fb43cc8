"""Volume tiers (CONTRACT.md §4.1): which band each charged message is priced in.

The charged messages of one (business portfolio, market, category, usage
month) are counted; the n-th of them is priced at the band that holds n − 1.
The count lives in the database and is advanced, in the same transaction that
charges the messages, by as many as a batch charges of each key; the messages
of a key in one batch take the next numbers in a fixed order (billing time,
then message key), so a replayed batch numbers them the same. Every charged
message is counted, with bands or without, so bands added to a card mid-month
still price the n-th message right.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple


# Named tuples, not dataclasses: one of each is made for every charged message, and a tuple is
# several times cheaper to create.
class TierKey(NamedTuple):
    """What one volume count is kept for."""

    portfolio_id: str  # the client's business portfolio, else the client itself
    market: str
    category: str  # the category whose rate applies (a group message's base category when unlisted)
    usage_month: str


class Charge(NamedTuple):
    """A message about to be charged: its count's key and what orders it among its batch."""

    key: TierKey
    billed_at: datetime
    message_id: str


def increments(charges: Iterable[Charge]) -> Counter[TierKey]:
    """How far each count advances."""
    return Counter(map(itemgetter(0), charges))


def positions(charges: Iterable[Charge], counted_before: Mapping[TierKey, int]) -> dict[str, int]:
    """Message id → n: a key's messages take counted_before + 1, + 2, … by billing time, then id."""
    counted = dict(counted_before)
    out: dict[str, int] = {}
    for key, _, message_id in sorted(charges, key=itemgetter(1, 2)):
        counted[key] += 1
        out[message_id] = counted[key]
    return out
