"""`billing.ratecards.v1` (CONTRACT.md §3.3): what a message costs.

A rate card is validated as a whole: one ambiguous line would make the price
of a message depend on which line a lookup happens to find first. Volume tiers
(since 1.1) likewise: every (market, category) with bands starts at `from: 0`
with its plain rate, and no `from` repeats, or the n-th message of a month
would have no band or two.
"""

from collections import defaultdict
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import (Category, ContractModel, CountryCode, Currency, Id, IsoDate, Rate,
                                   absent_when_none)

MarketName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RateLine(ContractModel):
    """The price of one message of a category sent to a market."""

    market: MarketName = Field(description="A market name from `markets` or `default_market`.")
    category: Category = Field(description="The pricing category.")
    rate: Rate = Field(description="Price per message in the card's currency, at most 6 decimal places.")


class TierLine(ContractModel):
    """One volume-tier band: the rate of a (market, category)'s messages past the first `from` of a month."""

    # `from` is a Python keyword: the field is `from_` in code, `from` on the wire.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    market: MarketName = Field(description="A market name from `markets` or `default_market`.")
    category: Category = Field(description="The pricing category (Meta tiers utility and authentication).")
    from_: Annotated[int, Field(strict=True)] = Field(
        alias="from", json_schema_extra={"minimum": 0},
        description="The band prices the charged messages of a month after the first `from`, up to the next "
        "band's `from`; the first band of a (market, category) is `from: 0`.")
    rate: Rate = Field(description="Price per message in the band, at most 6 decimal places.")

    @field_validator("from_")
    @classmethod
    def _not_negative(cls, value: int, info: ValidationInfo) -> int:
        if value < 0:
            raise PydanticCustomError(
                "tier_from", "band from {start} of ({market}, {category}) must not be negative",
                {"start": value, "market": info.data.get("market"), "category": info.data.get("category")})
        return value


class RateCard(ContractModel):
    """A complete price list for one currency, in force from `effective_from`."""

    ratecard_id: Id = Field(description="Identifies this card.")
    currency: Currency = Field(description="The currency of every rate; the key.")
    effective_from: IsoDate = Field(description="First billing date (UTC) the card applies to.")
    markets: dict[CountryCode, MarketName] = Field(
        description="Country code → market name; a country not listed belongs to `default_market`."
    )
    default_market: MarketName = Field(description="The market of every country not in `markets`.")
    rates: list[RateLine] = Field(description="One rate per (market, category).")
    tiers: list[TierLine] | None = Field(
        default=None, exclude_if=absent_when_none, description="Volume tiers (since 1.1): bands per (market, category), each from 0; a "
        "(market, category) without bands has its plain rate for every message.")

    @field_validator("rates")
    @classmethod
    def _one_rate_per_market_and_category(cls, rates: list[RateLine]) -> list[RateLine]:
        seen: set[tuple[str, str]] = set()
        for line in rates:
            key = (line.market, line.category)
            if key in seen:
                raise PydanticCustomError(
                    "duplicate_rate",
                    "more than one rate for market '{market}' and category '{category}'",
                    {"market": line.market, "category": line.category},
                )
            seen.add(key)
        return rates

    @field_validator("tiers")
    @classmethod
    def _bands_from_zero_without_repeats(cls, tiers: list[TierLine] | None,
                                         info: ValidationInfo) -> list[TierLine] | None:
        plain = {(line.market, line.category): line.rate for line in info.data.get("rates") or []}
        bands: dict[tuple[str, str], list[TierLine]] = defaultdict(list)
        for band in tiers or []:
            key = (band.market, band.category)
            if any(b.from_ == band.from_ for b in bands[key]):
                raise PydanticCustomError(
                    "tier_repeated", "band from {start} of ({market}, {category}) is given twice",
                    {"start": band.from_, "market": band.market, "category": band.category})
            bands[key].append(band)
        for (market, category), group in bands.items():
            first = min(group, key=lambda b: b.from_)
            if first.from_ != 0:
                raise PydanticCustomError(
                    "tier_start", "the bands of ({market}, {category}) start at from {start}; the first band "
                    "must be from 0", {"market": market, "category": category, "start": first.from_})
            rate = plain.get((market, category))
            if rate is not None and first.rate != rate:
                raise PydanticCustomError(
                    "tier_plain_rate", "band from 0 of ({market}, {category}) has rate {band} but the card's "
                    "rate for it is {rate}", {"market": market, "category": category, "band": str(first.rate),
                                              "rate": str(rate)})
        return tiers
