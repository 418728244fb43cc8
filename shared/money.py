"""Exact money: amounts are `Decimal`, kept to 6 decimal places, never floats.

Rates have up to 6 decimals (§3.3), so a balance moved by usage needs 6; an
invoice line is rounded once, half up, to 2 (§4.2).
"""

from decimal import ROUND_HALF_UP, Decimal

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal("0")


def exact(value: Decimal) -> Decimal:
    """`value` at the ledger's precision (6 decimals); an amount with more is a bug, not a rounding."""
    q = value.quantize(MICRO)
    if q != value:
        raise ValueError(f"{value} has more than 6 decimal places")
    return q


def plain(value: Decimal) -> Decimal:
    """For people and messages: at least 2 decimals, at most 6, no trailing zeros beyond 2
    (-0.113100 → -0.1131, 100 → 100.00)."""
    q = value.quantize(MICRO).normalize()
    if q.as_tuple().exponent > -2:  # type: ignore[operator]
        q = q.quantize(CENT)
    return q


def round_line(value: Decimal) -> Decimal:
    """An invoice amount: rounded once, half up, to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
