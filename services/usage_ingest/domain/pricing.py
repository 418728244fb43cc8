"""Rate cards in force and the price of one message (CONTRACT.md §3.3, §4.1)."""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.contracts import RateCard


@dataclass(frozen=True, slots=True)
class Quote:
    """What a message costs, and where that came from."""

    ratecard_id: str
    market: str
    rate: Decimal


class RateBook:
    """Every known rate card, by currency, ordered by `effective_from`."""

    def __init__(self, cards: Iterable[RateCard]) -> None:
        by_currency: dict[str, list[RateCard]] = {}
        for card in cards:
            by_currency.setdefault(card.currency, []).append(card)
        self._cards = {c: sorted(cs, key=lambda card: card.effective_from) for c, cs in by_currency.items()}
        self._starts = {c: [card.effective_from for card in cs] for c, cs in self._cards.items()}
        self._rates = {card.ratecard_id: {(r.market, r.category): r.rate for r in card.rates}
                       for cs in self._cards.values() for card in cs}

    def in_force(self, currency: str, on: date) -> RateCard | None:
        """The card of `currency` with the latest `effective_from` on or before `on`."""
        starts = self._starts.get(currency)
        if not starts:
            return None
        i = bisect_right(starts, on)
        return self._cards[currency][i - 1] if i else None

    def quote(self, currency: str, on: date, country: str | None, category: str) -> Quote | None:
        """The price of one message of `category` to `country` billed on `on`; None if there is no rate."""
        card = self.in_force(currency, on)
        if card is None:
            return None
        market = card.markets.get(country, card.default_market) if country else card.default_market
        rate = self._rates[card.ratecard_id].get((market, category))
        if rate is None:
            return None
        return Quote(card.ratecard_id, market, rate)
