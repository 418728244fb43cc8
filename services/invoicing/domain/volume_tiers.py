"""How a usage line says that volume tiers applied (CONTRACT.md §4.1, §4.3).

A month-closing invoice keeps one `usage` line per (channel, category) and
month, its amount the exact graduated total rounded once. When some of its
messages were priced past a (market, category)'s first band, the description
names how many went at which rate, so a person can follow the total:
"8 messages (5 × 0.0456, 3 × 0.0433 volume tier from 100,000)".
"""

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from shared.contracts import UsageLine


def tier_breakdown(lines: Iterable[UsageLine]) -> str:
    """" (5 × 0.0456, 3 × 0.0433 volume tier from 100,000)" when a band past the first priced some of the
    lines' messages; "" otherwise, so a line without tiers reads as it always did."""
    lines = list(lines)
    if not any(line.tier_from for line in lines):
        return ""
    banded: Counter[tuple[int, Decimal]] = Counter()
    unbanded = 0
    for line in lines:
        if line.tier_from is None or line.rate is None:
            unbanded += line.quantity
        else:
            banded[(line.tier_from, line.rate)] += line.quantity
    parts = [f"{quantity} × {rate}" + (f" volume tier from {start:,}" if start else "")
             for (start, rate), quantity in sorted(banded.items(), key=lambda kv: (kv[0][0], -kv[0][1]))]
    if unbanded:
        parts.append(f"{unbanded} without volume tiers")
    return f" ({', '.join(parts)})"
