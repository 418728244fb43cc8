"""Meta's volume-tier CSV becomes the contract's `tiers` exactly, or a message naming the line and the rule."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app
from ops.cli.ratecards import meta_category, parse_meta_csv
from ops.cli.tier_csv import TierCsvError, parse_tier_csv, with_tiers

DATA = Path(__file__).parent / "data"
META = (DATA / "meta-volume-tiers-EUR.csv").read_text()
RATES = """Market,Category,Rate,Currency,Effective Date
Germany,Utility,0.0456,EUR,2026-10-01
Germany,Authentication,0.0636,EUR,2026-10-01
Rest of Western Europe,Utility,0.0300,EUR,2026-10-01
"""
MARKETS = {"DE": "Germany", "AT": "Rest of Western Europe"}
HEADER = "Germany\nUtility\nFrom,To,Rate type,Rate,vs. List rate\n"


def test_metas_file_becomes_bands_from_0_after_each_previous_to():
    """Meta counts a month's messages from 1, both ends included: "100,001 – 1,000,000" is `from: 100000`."""
    tiers = parse_tier_csv(META, meta_category)
    assert (tiers.currency, tiers.effective_date) == ("EUR", "2026-10-01")
    assert tiers.bands == {
        ("Germany", "utility"): [(0, Decimal("0.0456")), (100000, Decimal("0.0433")), (1000000, Decimal("0.0410")),
                                 (10000000, Decimal("0.0388"))],
        ("Germany", "authentication"): [(0, Decimal("0.0636")), (100000, Decimal("0.0604"))],
        ("Rest of Western Europe", "utility"): [(0, Decimal("0.0300")), (250000, Decimal("0.0285"))]}


def test_a_file_counting_from_0_is_read_the_same():
    """"0 – 100,000, then 100,000 – …" names the same band as "1 – 100,000, then 100,001 – …"."""
    text = HEADER + '0,"100,000",List rate,0.0456,--\n"100,000",--,Tier rate,0.0433,-5%\n'
    assert parse_tier_csv(text, meta_category).bands == {
        ("Germany", "utility"): [(0, Decimal("0.0456")), (100000, Decimal("0.0433"))]}


@pytest.mark.parametrize(("rows", "message"), [
    ('1,"100,000",List rate,0.0456,--\n"100,002",--,Tier rate,0.0433,', "line 5: From 100,002 does not follow the "
                                                                        "band before it (To 100,000)"),
    ('1,"100,000",List rate,0.0456,--\n"100,001",--,Discount,0.0433,', "line 5: Rate type 'Discount' is neither"),
    ('1,"100,000",Tier rate,0.0456,--\n', "line 4: the first band of (Germany, utility) must start at 1 (or 0) "
                                          "with the List rate"),
    ('1,--,List rate,0.0456,--\n"100,001",--,Tier rate,0.0433,', "line 5: a band after the open-topped one"),
    ('1,"100,000",List rate,"0,0456",--\n', "line 4: Rate '0,0456': Amount must be a decimal string with a dot"),
    ('1,"100,000",List rate,-0.0456,--\n', "line 4: Rate '-0.0456': Rate must not be negative"),
    ('1,"100,000",List rate,0.0456,--\n"100,001",500,Tier rate,0.0433,', "line 5: To 500 is below From 100,001"),
])
def test_a_bad_band_is_named_by_its_line(rows, message):
    """The pricing team learns which line is wrong and why."""
    with pytest.raises(TierCsvError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_tier_csv(HEADER + rows + "\n", meta_category)


def test_a_header_without_a_rate_column_and_a_category_before_any_market_are_refused():
    """The layout itself is checked."""
    with pytest.raises(TierCsvError, match="line 3: header: missing column.s. rate"):
        parse_tier_csv("Germany\nUtility\nFrom,To,Rate type\n1,--,List rate\n", meta_category)
    with pytest.raises(TierCsvError, match="line 1: category 'Utility' comes before any market"):
        parse_tier_csv("Utility\nFrom,To,Rate type,Rate\n1,--,List rate,0.0456\n", meta_category)


def test_the_tiers_join_the_rates_files_card_of_their_currency_and_date():
    """One card: the rates file's rates and the tier file's bands, valid as the contract wants."""
    [card] = with_tiers(parse_meta_csv(RATES, MARKETS, "Other"), parse_tier_csv(META, meta_category))
    assert card.tiers is not None and len(card.tiers) == 8
    assert [(t.market, t.category, t.from_, t.rate) for t in card.tiers][:2] == [
        ("Germany", "utility", 0, Decimal("0.0456")), ("Germany", "utility", 100000, Decimal("0.0433"))]


def test_a_list_rate_that_contradicts_the_rates_file_or_a_card_that_does_not_exist_is_refused():
    """The two files must agree on the plain rate; a tier file for USD has no EUR card to join."""
    with pytest.raises(TierCsvError, match=r"\(Germany, utility\): the tier file's List rate 0.0456 is not the "
                                           "rates file's 0.0500"):
        with_tiers(parse_meta_csv(RATES.replace("0.0456", "0.0500"), MARKETS, "Other"),
                   parse_tier_csv(META, meta_category))
    with pytest.raises(TierCsvError, match="the tier file is for USD from 2026-10-01, and the rates file has no"):
        with_tiers(parse_meta_csv(RATES, MARKETS, "Other"),
                   parse_tier_csv(META.replace("Currency,EUR", "Currency,USD"), meta_category))


def test_import_with_tiers_dry_run_shows_the_card_with_its_bands(tmp_path):
    """`billing ratecards import rates.csv --tiers tiers.csv --dry-run`: Meta's two files, unchanged."""
    (tmp_path / "rates.csv").write_text(RATES)
    result = CliRunner().invoke(app, ["ratecards", "import", str(tmp_path / "rates.csv"), "--tiers",
                                      str(DATA / "meta-volume-tiers-EUR.csv"), "--market", "DE=Germany",
                                      "--market", "AT=Rest of Western Europe", "--default-market", "Other",
                                      "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["card"]["tiers"][1] == {"market": "Germany", "category": "utility", "from": 100000,
                                         "rate": "0.0433"}


def test_import_with_a_bad_tier_file_exits_2_naming_it(tmp_path):
    """Bad input is exit code 2 and one line naming the tier file and its line."""
    (tmp_path / "rates.csv").write_text(RATES)
    (tmp_path / "tiers.csv").write_text(HEADER + '1,"100,000",List rate,0.0456,--\n"100,002",--,Tier rate,0.04,\n')
    result = CliRunner().invoke(app, ["ratecards", "import", str(tmp_path / "rates.csv"), "--tiers",
                                      str(tmp_path / "tiers.csv"), "--market", "DE=Germany",
                                      "--default-market", "Other", "--dry-run"])
    assert result.exit_code == 2
    assert "tiers.csv: line 5: From 100,002 does not follow the band before it (To 100,000)" in result.output
