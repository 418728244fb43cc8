"""Month-closing usage lines with volume tiers: one line per (channel, category), the exact graduated total
rounded once, and a description that shows the bands."""

from decimal import Decimal

from services.invoicing.domain.documents import closing_lines
from services.invoicing.domain.volume_tiers import tier_breakdown
from shared.contracts import UsageLine

from .test_documents import closing

D = Decimal


def part(quantity: int, amount: str, rate: str | None = None, tier_from: int | None = None,
         month: str = "2026-02", category: str = "utility") -> UsageLine:
    return UsageLine(channel_id="acmeCH0001", client_id="bobCL", category=category, usage_month=month,
                     quantity=quantity, amount=D(amount), rate=D(rate) if rate else None, tier_from=tier_from)


def test_a_line_past_a_band_names_each_bands_quantity_and_rate_and_rounds_the_exact_total_once():
    """5 × 0.0456 + 3 × 0.0433 = 0.3579 → 0.36, in one usage line that says which rates made it."""
    usage, settled = closing_lines(closing([part(5, "0.228", "0.0456", 0), part(3, "0.1299", "0.0433", 100000)]),
                                   "2026-02")
    assert (usage.code, usage.quantity, usage.amount, usage.unit_price) == ("usage", D(8), D("0.36"), D("0.044738"))
    assert usage.description == ("Usage utility, acmeCH0001, 2026-02: 8 messages "
                                 "(5 × 0.0456, 3 × 0.0433 volume tier from 100,000)")
    assert settled.amount == D("-0.36")


def test_a_line_whose_messages_all_stayed_in_the_first_band_reads_as_without_tiers():
    """Nothing past the list rate: the description is the plain one."""
    [usage, _] = closing_lines(closing([part(4, "0.1824", "0.0456", 0)]), "2026-02")
    assert usage.description == "Usage utility, acmeCH0001, 2026-02: 4 messages"


def test_late_usage_keeps_its_bands_and_markets_of_one_band_are_listed_by_rate():
    """A late line mixing two markets' bands and unbanded usage lists them all, bands in order."""
    [late, _] = closing_lines(closing([
        part(2, "0.06", "0.03", 0, month="2026-01"), part(1, "0.0433", "0.0433", 3, month="2026-01"),
        part(3, "0.1368", "0.0456", 0, month="2026-01"), part(1, "0.02", month="2026-01")]), "2026-02")
    assert (late.code, late.usage_month, late.quantity, late.amount) == ("late_usage", "2026-01", D(7), D("0.26"))
    assert late.description == ("Late usage utility, acmeCH0001, 2026-01: 7 messages (3 × 0.0456, 2 × 0.03, "
                                "1 × 0.0433 volume tier from 3, 1 without volume tiers)")


def test_lines_without_any_band_read_exactly_as_before():
    """Usage debited before bands were kept has no rate: no breakdown."""
    assert tier_breakdown([part(3, "0.3393", category="marketing")]) == ""
