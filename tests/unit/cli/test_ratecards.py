"""Meta's rate-card CSV becomes contract rate cards, exactly, or a message naming the line and the field."""

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from ops.cli import app
from ops.cli.ratecards import CsvError, parse_meta_csv, unpriced

MARKETS = {"DE": "Germany", "AT": "Rest of Western Europe"}
GOOD = """Market,Category,Rate,Currency,Effective Date
Germany,Marketing,0.1131,EUR,2026-10-01
Germany,Authentication-International,0.0636,EUR,2026-10-01
Rest of Western Europe,Marketing Lite,0.0592,EUR,2026-10-01
Other,Utility,0.030000,EUR,2026-10-01
"""


def test_a_meta_csv_becomes_one_card_with_exact_rates_and_contract_categories():
    """Rates are Decimals as written (never floats); Meta's category labels map to the contract's."""
    [card] = parse_meta_csv(GOOD, MARKETS, "Other")
    assert card.ratecard_id == "meta-2026-10-01-EUR" and card.currency == "EUR"
    assert str(card.effective_from) == "2026-10-01" and card.markets == MARKETS
    assert [(r.market, r.category, r.rate) for r in card.rates] == [
        ("Germany", "marketing", Decimal("0.1131")),
        ("Germany", "authentication-international", Decimal("0.0636")),
        ("Rest of Western Europe", "marketing_lite", Decimal("0.0592")),
        ("Other", "utility", Decimal("0.030000"))]


def test_each_currency_and_effective_date_is_a_card_of_its_own():
    """Two currencies in one file: two cards, each keyed by its currency."""
    text = GOOD + "Germany,Marketing,0.1365,usd,2026-10-01\n"
    cards = parse_meta_csv(text, MARKETS, "Other", id_prefix="q4")
    assert [(c.ratecard_id, len(c.rates)) for c in cards] == [("q4-2026-10-01-EUR", 4), ("q4-2026-10-01-USD", 1)]


@pytest.mark.parametrize(("row", "message"), [
    ("Germany,Marketing,0.11311111,EUR,2026-10-01", "line 3: rate: Rate must have at most 6 decimal places"),
    ("Germany,Marketing,-0.1,EUR,2026-10-01", "line 3: rate: Rate must not be negative"),
    ("Germany,Marketing,0,11,EUR,2026-10-01", "line 3: more fields than columns (a decimal comma?"),
    ("Germany,,0.1,EUR,2026-10-01", "line 3: category: String should have at least 1 character"),
    ("Germany,Marketing,0.1,GBP,2026-10-01", "line 3: currency: Input should be 'EUR' or 'USD'"),
    ("Germany,Marketing,0.1,EUR,01/10/2026", "line 3: effective_date: Date must be a string YYYY-MM-DD"),
    ("Germany,Marketing,0.2,EUR,2026-10-01", "more than one rate for market 'Germany' and category 'marketing'"),
])
def test_a_bad_row_is_named_by_its_line_and_field(row, message):
    """The operator learns which line is wrong and why, in one sentence."""
    text = "market,category,rate,currency,effective_date\nGermany,Marketing,0.1131,EUR,2026-10-01\n" + row + "\n"
    with pytest.raises(CsvError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_meta_csv(text, MARKETS, "Other")


def test_a_missing_column_is_named():
    """Without a currency column the header is refused, listing what is expected."""
    with pytest.raises(CsvError, match="header: missing column.s. currency"):
        parse_meta_csv("market,category,rate,effective_date\nGermany,marketing,0.1,2026-10-01\n", MARKETS, "Other")


def test_markets_without_rates_and_rates_without_markets_are_warned_about():
    """A market no country belongs to is useless; a market without rates sends messages to the DLQ."""
    [card] = parse_meta_csv("market,category,rate,currency,effective_date\nMars,marketing,0.1,EUR,2026-10-01\n",
                            MARKETS, "Other")
    warnings = unpriced(card)
    assert "no country belongs to: Mars" in warnings[0]
    assert "no rate at all for market(s) Germany, Other, Rest of Western Europe" in warnings[1]


def test_import_dry_run_validates_and_publishes_nothing(tmp_path):
    """--dry-run needs neither Kafka nor PostgreSQL and prints the card as it would be published."""
    (tmp_path / "meta.csv").write_text(GOOD)
    result = CliRunner().invoke(app, ["ratecards", "import", str(tmp_path / "meta.csv"), "--market", "DE=Germany",
                                      "--default-market", "Other", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["published"] is False and entry["card"]["rates"][3] == {"market": "Other", "category": "utility",
                                                                        "rate": "0.030000"}


def test_import_of_a_bad_file_exits_2_with_the_line(tmp_path):
    """Bad input is exit code 2 and one line naming the file, line and field."""
    (tmp_path / "meta.csv").write_text("market,category,rate,currency,effective_date\nGermany,marketing,x,EUR,"
                                       "2026-10-01\n")
    result = CliRunner().invoke(app, ["ratecards", "import", str(tmp_path / "meta.csv"), "--market", "DE=Germany",
                                      "--default-market", "Other"])
    assert result.exit_code == 2
    assert 'meta.csv: line 2: rate: Amount must be a decimal string with a dot, such as "25.00"' in result.output


def test_a_market_option_without_an_equals_sign_is_refused(tmp_path):
    """--market wants COUNTRY=MARKET."""
    (tmp_path / "meta.csv").write_text(GOOD)
    result = CliRunner().invoke(app, ["ratecards", "import", str(tmp_path / "meta.csv"), "--market", "Germany"])
    assert result.exit_code == 2 and "--market wants COUNTRY=MARKET" in result.output
