"""The VAT category of every line and the VAT breakdown, as EN 16931 and its validators want them.

The treatment is the one stored on the invoice (§3.7 `tax.treatment`), never derived from a rate:

- `standard`: category S at the invoice's rate (19 %);
- `reverse_charge`: AE, exemption VATEX-EU-AE with the §13b note; both VAT ids are on the document;
- `outside_scope`: O, VATEX-EU-O, for every line (O mixes with no other category); no VAT ids.

A month-closing invoice's `usage`, `late_usage` and `settled_with_credit_balance` lines carry no VAT:
the prepayment invoice taxed the money when it was paid. They are category E with that reason (or O
on an outside-scope invoice): the usage lines and the settlement, a line of quantity -1, cancel out
to a taxable amount of 0.00, so the document's totals are the message's (docs/invoicing.md).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .model import InvoiceData, Line

UNTAXED_CODES = frozenset({"usage", "late_usage", "settled_with_credit_balance"})
REVERSE_CHARGE_NOTE = "Steuerschuldnerschaft des Leistungsempfängers / Reverse charge"
OUTSIDE_SCOPE_NOTE = ("Nicht im Inland steuerbare Leistung (§ 3a Abs. 2 UStG) / "
                      "Not subject to German VAT (place of supply outside Germany)")
PREPAID_NOTE = ("Mit dem Guthaben verrechnet; die Umsatzsteuer wurde mit der Vorauszahlungsrechnung "
                "berechnet / Settled with the prepaid credit balance; VAT was charged on the prepayment invoice")


@dataclass(frozen=True, slots=True)
class Category:
    code: str  # UNCL5305: S, AE, O, E
    percent: Decimal
    exemption_code: str | None = None
    exemption_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Breakdown:
    category: Category
    basis: Decimal
    tax: Decimal


ZERO = Decimal("0.00")


def category_of(data: InvoiceData, line: Line) -> Category:
    if data.treatment == "outside_scope":
        return Category("O", ZERO, "VATEX-EU-O", OUTSIDE_SCOPE_NOTE)
    if line.code in UNTAXED_CODES:
        return Category("E", ZERO, None, PREPAID_NOTE)
    if data.treatment == "reverse_charge":
        return Category("AE", ZERO, "VATEX-EU-AE", REVERSE_CHARGE_NOTE)
    if data.treatment == "standard":
        return Category("S", (data.rate * 100).quantize(ZERO))
    raise ValueError(f"invoice {data.number}: unknown tax treatment {data.treatment!r}")


def placeholder_category(data: InvoiceData) -> Category:
    """The category of the one zero line a document without lines gets (EN 16931 needs a line)."""
    if data.treatment == "outside_scope":
        return Category("O", ZERO, "VATEX-EU-O", OUTSIDE_SCOPE_NOTE)
    return Category("E", ZERO, None, PREPAID_NOTE)


def breakdown(data: InvoiceData, categories: list[Category], amounts: list[Decimal]) -> list[Breakdown]:
    """One entry per category, its tax rounded half up once; the sum must be the message's tax."""
    bases: dict[Category, Decimal] = defaultdict(lambda: ZERO)
    for category, amount in zip(categories, amounts, strict=True):
        bases[category] += amount
    out = [Breakdown(c, b, (b * c.percent / 100).quantize(ZERO, rounding=ROUND_HALF_UP))
           for c, b in sorted(bases.items(), key=lambda kv: (kv[0].code, kv[0].percent))]
    if sum((b.tax for b in out), ZERO) != data.tax:
        raise ValueError(f"invoice {data.number}: its VAT breakdown gives {sum(b.tax for b in out)}, "
                         f"the message says {data.tax}")
    return out
