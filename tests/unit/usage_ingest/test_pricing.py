"""Rate cards in force, the price of a message, and the recipient's country (CONTRACT.md §3.3, §4.1)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.usage_ingest.domain.accounts import ChannelAccount
from services.usage_ingest.domain.charging import MessageState, Outcome, PricingInfo
from services.usage_ingest.domain.pricing import Quote, RateBook
from services.usage_ingest.domain.recipients import country_of
from services.usage_ingest.domain.settlement import no_rate_reason, price, quote
from shared.contracts import RateCard
from tests.builders import AT_NUMBER, DE_NUMBER, FR_NUMBER, US_NUMBER, ratecard

OCTOBER = RateCard.model_validate(ratecard("eur-2026-10", "EUR", "2026-10-01", {
    ("Germany", "marketing"): "0.1131", ("Other", "marketing"): "0.0604", ("Germany", "utility"): "0.0456"}))
NOVEMBER = RateCard.model_validate(ratecard("eur-2026-11", "EUR", "2026-11-01", {
    ("Germany", "marketing"): "0.1200", ("Other", "marketing"): "0.0650"}))
USD_OCTOBER = RateCard.model_validate(ratecard("usd-2026-10", "USD", "2026-10-01", {
    ("Germany", "marketing"): "0.1365", ("Other", "marketing"): "0.0730"}))

BOOK = RateBook([NOVEMBER, USD_OCTOBER, OCTOBER])  # any order in, ordered by effective_from inside
ACME = ChannelAccount("acmeCH0001", "bobCL", "acmePA", "partner_paid", "EUR")


def test_a_message_billed_the_day_before_a_new_card_uses_the_old_card_and_on_the_day_the_new_one():
    """The card in force is the latest `effective_from` on or before the billing date."""
    assert BOOK.quote("EUR", date(2026, 10, 31), "DE", "marketing") == Quote("eur-2026-10", "Germany", "marketing",
                                                                             Decimal("0.1131"))
    assert BOOK.quote("EUR", date(2026, 11, 1), "DE", "marketing") == Quote("eur-2026-11", "Germany", "marketing",
                                                                            Decimal("0.1200"))
    assert BOOK.quote("EUR", date(2027, 6, 30), "DE", "marketing") == Quote("eur-2026-11", "Germany", "marketing",
                                                                            Decimal("0.1200"))
    assert BOOK.in_force("EUR", date(2026, 10, 1)) == OCTOBER


def test_a_message_billed_before_the_first_card_has_no_rate():
    """No card in force on the billing date: no price."""
    assert BOOK.in_force("EUR", date(2026, 9, 30)) is None
    assert BOOK.quote("EUR", date(2026, 9, 30), "DE", "marketing") is None


def test_each_currency_has_its_own_cards():
    """A partner billing in USD is priced from USD cards only, and EUR from EUR cards."""
    assert BOOK.quote("USD", date(2026, 11, 15), "DE", "marketing") == Quote("usd-2026-10", "Germany", "marketing",
                                                                             Decimal("0.1365"))
    assert BOOK.quote("EUR", date(2026, 10, 15), "DE", "marketing") == Quote("eur-2026-10", "Germany", "marketing",
                                                                             Decimal("0.1131"))
    only_usd = RateBook([USD_OCTOBER])
    assert only_usd.quote("EUR", date(2026, 10, 15), "DE", "marketing") is None
    assert RateBook([]).quote("USD", date(2026, 10, 15), "DE", "marketing") is None


def test_a_country_not_in_the_cards_markets_belongs_to_its_default_market():
    """`markets` maps the listed countries; every other country, and no country at all, is the default."""
    for country in ("US", "FR", None):
        assert BOOK.quote("EUR", date(2026, 10, 15), country, "marketing") == Quote("eur-2026-10", "Other", "marketing",
                                                                                    Decimal("0.0604"))


def test_no_rate_for_the_market_and_category_gives_no_price():
    """The card in force must price (market, category) itself: no fallback to another market or card."""
    # Germany has no `authentication` rate in October, nor does Other.
    assert BOOK.quote("EUR", date(2026, 10, 15), "DE", "authentication") is None
    # Rest of Western Europe (AT) has no rate at all in this card, though Other has one.
    assert BOOK.quote("EUR", date(2026, 10, 15), "AT", "marketing") is None
    # October had a utility rate for Germany; the November card does not, and it is the one in force.
    assert BOOK.quote("EUR", date(2026, 11, 2), "DE", "utility") is None


def test_rates_keep_their_six_decimal_places_exactly():
    """Rates are exact decimals, never floats."""
    card = RateCard.model_validate(ratecard("eur-fine", "EUR", "2026-10-01", {("Germany", "marketing"): "0.000001"}))
    quote = RateBook([card]).quote("EUR", date(2026, 10, 1), "DE", "marketing")
    assert quote is not None and quote.rate == Decimal("0.000001") and isinstance(quote.rate, Decimal)


def _delivered(at: datetime, category: str = "marketing", country: str | None = "DE") -> MessageState:
    return MessageState("wamid.1", "acmeCH0001", Outcome.PENDING, country,
                        PricingInfo("PMP", category, "regular", True), None, at, False)


def _priced(state: MessageState, book: RateBook = BOOK, n: int = 1):
    q = quote(state, ACME, book)
    return None if q is None else price(state, ACME, q, n)


def test_the_price_of_a_message_is_its_rate_on_its_utc_billing_day_and_month():
    """A delivery at 23:59:59 UTC on the 31st is October's; at 00:00:00 on the 1st, November's."""
    last = _priced(_delivered(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)))
    first = _priced(_delivered(datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC)))
    assert last is not None and first is not None
    assert (last.ratecard_id, last.amount, last.rate, last.usage_month) == (
        "eur-2026-10", Decimal("0.1131"), Decimal("0.1131"), "2026-10")
    assert (first.ratecard_id, first.amount, first.rate, first.usage_month) == (
        "eur-2026-11", Decimal("0.1200"), Decimal("0.1200"), "2026-11")


def test_a_message_without_a_rate_has_no_price_and_a_reason_naming_what_is_missing():
    """No rate: no priced usage, and a dead-letter sentence saying which rate is missing."""
    state = _delivered(datetime(2026, 10, 20, 10, 0, tzinfo=UTC), category="authentication")
    assert _priced(state) is None
    assert no_rate_reason(state, ACME) == "no EUR rate for category authentication to DE on 2026-10-20"
    unknown = _delivered(datetime(2026, 10, 20, 10, 0, tzinfo=UTC), category="authentication", country=None)
    assert no_rate_reason(unknown, ACME) == ("no EUR rate for category authentication to an unknown country "
                                             "on 2026-10-20")


@pytest.mark.parametrize(("number", "country"), [
    (DE_NUMBER, "DE"),
    (AT_NUMBER, "AT"),
    (FR_NUMBER, "FR"),
    (US_NUMBER, "US"),          # +1 212: New York
    ("14165551234", "CA"),      # +1 416: Toronto, same calling code as the US
    ("16045551234", "CA"),      # +1 604: Vancouver
    ("442071234567", "GB"),     # +44 20: London
    ("447700900123", "GB"),     # +44 7700: a UK mobile
])
def test_the_recipients_country_comes_from_its_calling_code_and_leading_digits(number, country):
    """+1 is shared by the US, Canada and others: the area code decides."""
    assert country_of(number) == country


@pytest.mark.parametrize("number", ["80012345678", "88212345678", "99912345678"])
def test_a_calling_code_of_no_country_gives_no_country(number):
    """+800 (freephone), +882 (international networks) and unassigned codes price at the default market."""
    assert country_of(number) is None


def test_the_calling_code_shortcut_answers_what_parsing_the_number_answers():
    """Countries read off a one-country calling code are the ones libphonenumber's full parse gives."""
    import random

    import phonenumbers

    from services.usage_ingest.domain.recipients import _parsed_country_of

    rnd = random.Random(7)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    numbers = [str(rnd.choice(codes)) + "".join(rnd.choices("0123456789", k=rnd.randint(1, 19)))
               for _ in range(5000)]
    numbers += ["".join(rnd.choices("0123456789", k=rnd.randint(5, 20))) for _ in range(2000)]
    assert [country_of(n) for n in numbers] == [_parsed_country_of(n) for n in numbers]
