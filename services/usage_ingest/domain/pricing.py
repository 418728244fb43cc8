"""Rate cards in force and the price of one message (CONTRACT.md §3.3, §4.1).

A quote names the rate card, the market and the category whose rate applies
(a `group_<category>` the card does not list is priced as `<category>`), with
that category's volume-tier bands; which band a message falls in depends on
how many messages of its portfolio were charged before it (`domain/tiers.py`).
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.contracts import RateCard

GROUP_PREFIX = "group_"


@dataclass(frozen=True, slots=True)
class Bands:
    """A (market, category)'s volume tiers: `starts[i]` (ascending, the first 0) priced at `rates[i]`."""

    starts: tuple[int, ...]
    rates: tuple[Decimal, ...]

    def at(self, n: int) -> tuple[Decimal, int]:
        """The rate and band start of the n-th charged message of a month (n = 1, 2, …): the band whose
        range holds n − 1."""
        i = bisect_right(self.starts, n - 1) - 1
        return self.rates[i], self.starts[i]


@dataclass(frozen=True, slots=True)
class Quote:
    """What a message costs, and where that came from."""

    ratecard_id: str
    market: str
    category: str  # whose rate applies: the message's, or the base category of an unlisted group one
    rate: Decimal
    bands: Bands | None = None

    def for_nth(self, n: int) -> tuple[Decimal, int | None]:
        """The rate of the n-th charged message of its (portfolio, market, category, month), and its band's
        start (None without bands)."""
        if self.bands is None:
            return self.rate, None
        return self.bands.at(n)


class RateBook:
    """Every known rate card, by currency, ordered by `effective_from`."""

    def __init__(self, cards: Iterable[RateCard]) -> None:
        by_currency: dict[str, list[RateCard]] = {}
        for card in cards:
            by_currency.setdefault(card.currency, []).append(card)
        self._cards = {c: sorted(cs, key=lambda card: card.effective_from) for c, cs in by_currency.items()}
        self._starts = {c: [card.effective_from for card in cs] for c, cs in self._cards.items()}
        self._rates: dict[str, dict[tuple[str, str], Decimal]] = {}
        self._bands: dict[str, dict[tuple[str, str], Bands]] = {}
        for card in (card for cs in self._cards.values() for card in cs):
            self._bands[card.ratecard_id] = _bands_of(card)
            rates = {(r.market, r.category): r.rate for r in card.rates}
            # A (market, category) priced only by its bands has band 0's rate as its plain rate.
            for key, bands in self._bands[card.ratecard_id].items():
                rates.setdefault(key, bands.rates[0])
            self._rates[card.ratecard_id] = rates

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
        rates = self._rates[card.ratecard_id]
        rate = rates.get((market, category))
        if rate is None and category.startswith(GROUP_PREFIX):
            # §3.3: a group message is priced like a 1:1 message of its base category.
            category = category[len(GROUP_PREFIX):]
            rate = rates.get((market, category))
        if rate is None:
            return None
        return Quote(card.ratecard_id, market, category, rate, self._bands[card.ratecard_id].get((market, category)))


def _bands_of(card: RateCard) -> dict[tuple[str, str], Bands]:
    grouped: dict[tuple[str, str], list[tuple[int, Decimal]]] = {}
    for t in card.tiers or ():
        grouped.setdefault((t.market, t.category), []).append((t.from_, t.rate))
    out = {}
    for key, bands in grouped.items():
        bands.sort()
        out[key] = Bands(tuple(s for s, _ in bands), tuple(r for _, r in bands))
    return out
