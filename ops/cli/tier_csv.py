"""Meta's volume-tier CSV: per market, a block per category of bands, as the contract's `tiers` (§3.3).

Meta publishes its volume tiers (utility and authentication) beside the rates,
laid out for people rather than programs:

    Currency,EUR
    Effective date,2026-10-01
    Market,Germany
    Utility
    From,To,Rate type,Rate,vs. List rate
    1,"100,000",List rate,0.0456,--
    "100,001","1,000,000",Tier rate,0.0433,-5%
    "1,000,001",--,Tier rate,0.0410,-10%
    Authentication
    From,To,Rate type,Rate,vs. List rate
    ...

A block's heading row names the category; a heading row not followed by a
`From,To,…` header names the market (or `Market,<name>` / `Market: <name>`
does). Ranges count messages of a month from 1 and include both ends, so a
band `From 100,001` is the contract's `from: 100000` (priced after the first
100,000); a file that counts from 0 (`From 100,000` after `To 100,000`) is read
the same. `--` is an open top; `vs. List rate` is informative and not read.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import TypeAdapter, ValidationError

from shared.contracts import Rate, RateCard

from .common import readable

COLUMNS = ("from", "to", "rate_type", "rate")
_RATE_TYPES = {"list rate": "list", "list": "list", "tier rate": "tier", "tier": "tier"}
OPEN = "--"
_RATE: TypeAdapter[Decimal] = TypeAdapter(Rate)


class TierCsvError(ValueError):
    """A row of the tier file that cannot become a band; says which line and why."""


@dataclass
class TierFile:
    currency: str | None = None
    effective_date: str | None = None
    # (market, category) → [(contract `from`, rate)], in the file's order
    bands: dict[tuple[str, str], list[tuple[int, Decimal]]] = field(default_factory=dict)

    def tiers(self) -> list[dict[str, object]]:
        """The contract's `tiers` lines."""
        return [{"market": m, "category": c, "from": start, "rate": format(rate, "f")}
                for (m, c), bands in self.bands.items() for start, rate in bands]


def _name(cell: str) -> str:
    return cell.strip().lower().replace(".", "").replace(" ", "_").replace("-", "_")


def _count(cell: str, line: int, column: str) -> int | None:
    text = cell.strip().replace(",", "").replace("\u202f", "").replace(" ", "")
    if text == OPEN:
        return None
    if not text.isdigit():
        raise TierCsvError(f"line {line}: {column}: {cell.strip()!r} is not a whole number (or -- for no limit)")
    return int(text)


def parse_tier_csv(text: str, category_of: Callable[[str], str]) -> TierFile:
    """The bands of Meta's tier file; `category_of` turns Meta's label (`Utility`) into the contract's."""
    rows = [(n, [c.strip() for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), 1)]
    rows = [(n, row) for n, row in rows if any(row)]
    out = TierFile()
    market: str | None = None
    i = 0
    while i < len(rows):
        n, row = rows[i]
        cells = [c for c in row if c]
        key, _, rest = row[0].partition(":")
        label = _name(key)
        value = rest.strip() or (row[1] if len(row) > 1 else "")
        if label in ("currency", "effective_date", "market") and value:
            if label == "market":
                market = value
            else:
                setattr(out, label, value)
            i += 1
            continue
        following = rows[i + 1][1] if i + 1 < len(rows) else []
        if len(cells) == 1 and "from" in map(_name, following):
            if market is None:
                raise TierCsvError(f"line {n}: category {cells[0]!r} comes before any market")
            i = _block(rows, i + 1, market, category_of(cells[0]), out)
            continue
        if len(cells) == 1:
            market = cells[0]
            i += 1
            continue
        raise TierCsvError(f"line {n}: expected a market, a category heading or a From,To,Rate type,Rate header")
    if not out.bands:
        raise TierCsvError("no bands (expected per market a block per category: From,To,Rate type,Rate)")
    return out


def _block(rows: list[tuple[int, list[str]]], at: int, market: str, category: str, out: TierFile) -> int:
    """Reads the header at `at` and the band rows after it; returns the index of the next row to read."""
    n, header = rows[at]
    names = {_name(c): j for j, c in enumerate(header) if c}
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise TierCsvError(f"line {n}: header: missing column(s) {', '.join(missing)} "
                           "(expected From,To,Rate type,Rate,vs. List rate)")
    if (market, category) in out.bands:
        raise TierCsvError(f"line {n}: a second block for ({market}, {category})")
    bands: list[tuple[int, Decimal]] = []
    previous_to: int | None = None
    i = at + 1
    # Band rows: those whose From is a number; a heading or a header ends the block.
    while i < len(rows) and _is_count(_cell(rows[i][1], names["from"])):
        n, row = rows[i]
        row = row + [""] * (len(header) - len(row))
        start = int(row[names["from"]].replace(",", ""))
        top = _count(row[names["to"]], n, "To")
        kind = _RATE_TYPES.get(row[names["rate_type"]].strip().lower())
        if kind is None:
            raise TierCsvError(f"line {n}: Rate type {row[names['rate_type']]!r} is neither List rate nor Tier rate")
        try:
            rate = _RATE.validate_python(row[names["rate"]])
        except ValidationError as exc:
            raise TierCsvError(f"line {n}: Rate {row[names['rate']]!r}: {readable(exc)}") from None
        if not bands:
            if start not in (0, 1) or kind != "list":
                raise TierCsvError(f"line {n}: the first band of ({market}, {category}) must start at 1 (or 0) "
                                   "with the List rate")
            contract_from = 0
        elif previous_to is None:
            raise TierCsvError(f"line {n}: a band after the open-topped one (To --) of ({market}, {category})")
        elif start == previous_to + 1:  # ranges that include both ends, counted from 1
            contract_from = start - 1
        elif start == previous_to:      # ranges counted from 0: "after the first To"
            contract_from = start
        else:
            raise TierCsvError(f"line {n}: From {start:,} does not follow the band before it (To {previous_to:,})")
        if top is not None and top < start:
            raise TierCsvError(f"line {n}: To {top:,} is below From {start:,}")
        bands.append((contract_from, rate))
        previous_to = top
        i += 1
    if not bands:
        raise TierCsvError(f"line {n}: no bands under the header of ({market}, {category})")
    out.bands[(market, category)] = bands
    return i


def _cell(row: list[str], j: int) -> str:
    return row[j] if j < len(row) else ""


def _is_count(cell: str) -> bool:
    return cell.replace(",", "").isdigit()


def with_tiers(cards: list[RateCard], tiers: TierFile) -> list[RateCard]:
    """The rate cards of the rates file, the tier file's bands added to those of its currency and date.

    Raises TierCsvError when the tier file fits no card, or when its List rate contradicts a card's rate.
    """
    targets = [c for c in cards if (tiers.currency is None or c.currency == tiers.currency.upper())
               and (tiers.effective_date is None or c.effective_from.isoformat() == tiers.effective_date)]
    if not targets:
        raise TierCsvError(f"the tier file is for {tiers.currency or 'any currency'} from "
                           f"{tiers.effective_date or 'any date'}, and the rates file has no such card")
    if tiers.currency is None and len({c.currency for c in targets}) > 1:
        raise TierCsvError("the tier file names no currency (a Currency,EUR row) and the rates file holds "
                           "cards in " + ", ".join(sorted({c.currency for c in targets})))
    out = []
    for card in cards:
        if card not in targets:
            out.append(card)
            continue
        plain = {(r.market, r.category): r.rate for r in card.rates}
        for (market, category), bands in tiers.bands.items():
            listed = plain.get((market, category))
            if listed is not None and listed != bands[0][1]:
                raise TierCsvError(f"({market}, {category}): the tier file's List rate {bands[0][1]} is not the "
                                   f"rates file's {listed}")
        try:
            out.append(RateCard.model_validate({**card.model_dump(mode="json", by_alias=True),
                                                "tiers": tiers.tiers()}))
        except ValidationError as exc:
            raise TierCsvError(f"card {card.currency} {card.effective_from}: {readable(exc)}") from None
    return out
