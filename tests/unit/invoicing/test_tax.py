"""Tax from the recipient's billing address (CONTRACT.md §4.3), as pure functions."""

from decimal import Decimal

import pytest

from services.invoicing.domain.tax import EU, UNTAXED_CODES, tax, treatment
from shared.contracts import Tax

D = Decimal

CONTRACT_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"


def test_the_eu_is_the_contracts_list_of_27_countries():
    """Exactly the list of §4.3, Greece as GR; not GB, CH or NO."""
    assert EU == frozenset(CONTRACT_EU.split())
    assert len(EU) == 27
    assert not {"GB", "CH", "NO", "EL"} & EU


@pytest.mark.parametrize("country, vat_id, expected", [
    ("DE", None, ("standard", D("0.19"))),
    ("DE", "DE123456789", ("standard", D("0.19"))),
    ("AT", "ATU12345678", ("reverse_charge", D("0"))),
    ("FR", "FR12345678901", ("reverse_charge", D("0"))),
    ("SK", "SK1234567890", ("reverse_charge", D("0"))),
    ("AT", None, ("standard", D("0.19"))),
    ("FR", None, ("standard", D("0.19"))),
    ("US", None, ("outside_scope", D("0"))),
    ("US", "US123", ("outside_scope", D("0"))),
    ("GB", "GB123456789", ("outside_scope", D("0"))),
    ("CH", None, ("outside_scope", D("0"))),
])
def test_the_treatment_follows_country_and_vat_id(country, vat_id, expected):
    """DE always standard; another EU country reverse charge with a VAT id, standard without; else outside."""
    assert treatment(country, vat_id) == expected


def test_an_empty_vat_id_counts_as_none():
    """An EU client with vat_id "" is taxed at the standard rate."""
    assert treatment("AT", "") == ("standard", D("0.19"))


def test_standard_tax_is_19_percent_of_the_taxable_amount_rounded_half_up():
    """0.19 × 607.25 = 115.3775 → 115.38 (the §5 example); the rate reads "0.19"."""
    got = tax("DE", "DE123456789", D("607.25"))
    assert got == Tax(treatment="standard", rate=D("0.19"), amount=D("115.38"))
    assert (str(got.rate), str(got.amount)) == ("0.19", "115.38")


@pytest.mark.parametrize("taxable, amount", [("1.50", "0.29"), ("5.50", "1.05"), ("0.50", "0.10"),
                                             ("2.50", "0.48"), ("4.50", "0.86"), ("25.00", "4.75"),
                                             ("21.77", "4.14")])
def test_tax_ending_in_5_at_the_third_decimal_rounds_half_up(taxable, amount):
    """0.285 → 0.29 and 1.045 → 1.05 (half even would give 0.28 and 1.04); 0.095, 0.475, 0.855 up too."""
    assert str(tax("AT", None, D(taxable)).amount) == amount


@pytest.mark.parametrize("country, vat_id, kind", [("AT", "ATU12345678", "reverse_charge"),
                                                   ("US", None, "outside_scope")])
def test_a_zero_rated_invoice_has_rate_0_and_tax_0_00(country, vat_id, kind):
    """Reverse charge and outside the scope: rate "0", amount "0.00", whatever the taxable amount."""
    got = tax(country, vat_id, D("1548.39"))
    assert (got.treatment, str(got.rate), str(got.amount)) == (kind, "0", "0.00")


def test_nothing_taxable_is_taxed_0_00():
    """A month closing with only usage: 0.19 × 0.00 = 0.00."""
    assert str(tax("DE", None, D("0.00")).amount) == "0.00"


def test_usage_late_usage_and_settlement_are_the_only_untaxed_codes():
    """Plans, licenses, prepayments and transaction fees are taxed."""
    assert UNTAXED_CODES == {"usage", "late_usage", "settled_with_credit_balance"}
