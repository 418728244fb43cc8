"""`billing.ratecards.v1` (CONTRACT.md §3.3): what a message costs.

A rate card is validated as a whole: one ambiguous line would make the price
of a message depend on which line a lookup happens to find first.
"""

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import Category, ContractModel, CountryCode, Currency, Id, IsoDate, Rate

MarketName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RateLine(ContractModel):
    """The price of one message of a category sent to a market."""

    market: MarketName = Field(description="A market name from `markets` or `default_market`.")
    category: Category = Field(description="The pricing category.")
    rate: Rate = Field(description="Price per message in the card's currency, at most 6 decimal places.")


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
