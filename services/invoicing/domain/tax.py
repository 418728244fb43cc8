"""Tax treatment from the recipient's billing address (CONTRACT.md §4.3)."""

from decimal import Decimal

from shared.contracts import Tax
from shared.money import round_line

EU = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
STANDARD_RATE = Decimal("0.19")
UNTAXED_CODES = frozenset({"usage", "late_usage", "settled_with_credit_balance"})


def treatment(country: str, vat_id: str | None) -> tuple[str, Decimal]:
    """DE, or another EU country without a VAT id: standard 19 %; another EU country with one:
    reverse charge; outside the EU: outside the scope."""
    if country == "DE" or (country in EU and not vat_id):
        return "standard", STANDARD_RATE
    if country in EU:
        return "reverse_charge", Decimal("0")
    return "outside_scope", Decimal("0")


def tax(country: str, vat_id: str | None, taxable: Decimal) -> Tax:
    """Tax on the sum of the taxable lines, rounded half up once per invoice."""
    kind, rate = treatment(country, vat_id)
    return Tax(treatment=kind, rate=rate.quantize(Decimal("0.01")) if rate else Decimal("0"),
               amount=round_line(taxable * rate))
