"""`billing.ratecards.v1` (CONTRACT.md §3.3)."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.contracts import RateCard, decode, encode
from shared.topics import RATECARDS

TOPIC = RATECARDS.name

# The example of CONTRACT.md §3.3, verbatim.
EXAMPLE = """{"ratecard_id": "meta-2026-10-EUR", "currency": "EUR", "effective_from": "2026-10-01",
 "markets": {"DE": "Germany", "AT": "Rest of Western Europe", "FR": "France"},
 "default_market": "Other",
 "rates": [
   {"market": "Germany", "category": "marketing", "rate": "0.1131"},
   {"market": "Germany", "category": "utility", "rate": "0.0456"},
   {"market": "Germany", "category": "authentication", "rate": "0.0636"},
   {"market": "Other", "category": "marketing", "rate": "0.0604"}
 ]}"""


def example() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(EXAMPLE)
    return value


def test_contract_example_parses_and_serialises_back_unchanged() -> None:
    """The §3.3 example decodes with exact rates and a date, and encodes back to the same JSON."""
    card = decode(TOPIC, EXAMPLE.encode())
    assert isinstance(card, RateCard)
    assert card.effective_from == date(2026, 10, 1)
    assert card.rates[0].rate == Decimal("0.1131")
    assert json.loads(encode(card)) == example()
    assert b'"rate":"0.0604"' in encode(card)


def test_unknown_fields_top_level_and_nested_are_accepted_and_kept() -> None:
    """New fields on the card or on a rate line survive a round trip."""
    value = example()
    value["source"] = "meta-pricing-2026-10.csv"
    value["rates"][0]["note"] = "updated"
    assert json.loads(encode(decode(TOPIC, json.dumps(value).encode()))) == value


def test_two_rates_for_the_same_market_and_category_are_schema_invalid(schema_invalid) -> None:
    """An ambiguous card is refused as a whole, naming the duplicate."""
    value = example()
    value["rates"].append({"market": "Germany", "category": "marketing", "rate": "0.2"})
    message = schema_invalid(TOPIC, value)
    assert message.startswith("rates: ")
    assert "'Germany'" in message and "'marketing'" in message


def test_same_category_in_two_markets_is_accepted() -> None:
    """Only the (market, category) pair must be unique."""
    assert isinstance(decode(TOPIC, EXAMPLE.encode()), RateCard)


@pytest.mark.parametrize(
    ("rate", "expected_prefix"),
    [("0.1234567", "rates.0.rate: "), ("-0.01", "rates.0.rate: "), (0.1131, "rates.0.rate: ")],
)
def test_rate_with_seven_decimals_a_minus_or_as_number_is_schema_invalid(schema_invalid, rate, expected_prefix) -> None:
    """Rates have at most 6 decimals, are not negative and are strings."""
    value = example()
    value["rates"][0]["rate"] = rate
    assert schema_invalid(TOPIC, value).startswith(expected_prefix)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("currency", "BRL"), ("effective_from", "2026-10"), ("effective_from", "2026-10-01T00:00:00Z"),
     ("markets", {"de": "Germany"}), ("markets", {"DE": ""}), ("default_market", ""), ("rates", "none")],
)
def test_card_field_outside_its_allowed_set_is_schema_invalid(schema_invalid, field, bad) -> None:
    """Currencies, dates, country codes and market names are checked."""
    value = example()
    value[field] = bad
    assert schema_invalid(TOPIC, value).startswith(f"{field}")


def test_any_category_name_is_accepted_but_not_an_empty_or_overlong_one(schema_invalid) -> None:
    """Meta adds categories (1.1): a new name is a rate like any other; empty or over 64 characters is not."""
    value = example()
    value["rates"][1]["category"] = "general_purpose_ai"
    card = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(card, RateCard) and card.rates[1].category == "general_purpose_ai"
    for bad in ("", "x" * 65):
        value["rates"][1]["category"] = bad
        assert schema_invalid(TOPIC, value).startswith("rates.1.category: String should have")


TIERS = [{"market": "Germany", "category": "utility", "from": 0, "rate": "0.0456"},
         {"market": "Germany", "category": "utility", "from": 100000, "rate": "0.0433"},
         {"market": "Germany", "category": "utility", "from": 1000000, "rate": "0.0410"}]


def test_the_contract_example_with_tiers_parses_and_serialises_back_unchanged() -> None:
    """§3.3's `tiers`: `from` on the wire, exact rates, the same JSON back."""
    value = {**example(), "tiers": TIERS}
    card = decode(TOPIC, json.dumps(value).encode())
    assert isinstance(card, RateCard) and card.tiers is not None
    assert [(t.from_, t.rate) for t in card.tiers] == [
        (0, Decimal("0.0456")), (100000, Decimal("0.0433")), (1000000, Decimal("0.0410"))]
    assert json.loads(encode(card)) == value


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.pop(0), "tiers: the bands of (Germany, utility) start at from 100000; the first band must be "
                         "from 0"),
    (lambda t: t[2].update({"from": 100000}), "tiers: band from 100000 of (Germany, utility) is given twice"),
    (lambda t: t[1].update({"from": -5}), "tiers.1.from: band from -5 of (Germany, utility) must not be negative"),
    (lambda t: t[1].update({"rate": "-0.0433"}), "tiers.1.rate: Rate must not be negative"),
    (lambda t: t[0].update({"rate": "0.0500"}), "tiers: band from 0 of (Germany, utility) has rate 0.0500 but "
                                                "the card's rate for it is 0.0456"),
    (lambda t: t[1].update({"from": "100000"}), "tiers.1.from: Input should be a valid integer"),
])
def test_inconsistent_bands_are_schema_invalid_naming_the_band(schema_invalid, change, expected) -> None:
    """No band from 0, a repeated `from`, a negative value, a band 0 that is not the plain rate: refused,
    and the message says which band."""
    tiers = [dict(t) for t in TIERS]
    change(tiers)
    assert schema_invalid(TOPIC, {**example(), "tiers": tiers}) == expected


def test_bands_of_a_category_without_a_plain_rate_are_accepted() -> None:
    """A (market, category) priced only by its bands: band 0 is its plain rate."""
    tiers = [{**t, "category": "authentication-international"} for t in TIERS]
    card = decode(TOPIC, json.dumps({**example(), "tiers": tiers}).encode())
    assert isinstance(card, RateCard) and card.tiers is not None and len(card.tiers) == 3


@pytest.mark.parametrize("field", ["ratecard_id", "currency", "effective_from", "markets", "default_market", "rates"])
def test_missing_required_field_is_schema_invalid_naming_it(schema_invalid, field) -> None:
    """Every field of a rate card is required."""
    value = example()
    del value[field]
    assert schema_invalid(TOPIC, value) == f"{field}: Field required"
