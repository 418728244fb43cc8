"""`billing ratecards`: import a rate card from Meta's CSV layout and publish it; list those in force.

Meta publishes its prices as one row per (market, category):
`market,category,rate,currency,effective_date`, and its volume tiers in a file
of their own (`--tiers`, read by `tier_csv.py`). The contract's rate card also
needs which countries belong to which market; that comes from `--market`,
`--markets-file`, or else the last card published in the same currency.
"""

import csv
import io
import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import typer
from pydantic import TypeAdapter, ValidationError

from shared.contracts import Currency, IsoDate, RateCard, RateLine, encode
from shared.topics import RATECARDS

from .common import JsonOption, emit_json, err, fail, fetch, out, progress, publish, readable, run, settings, table
from .tier_csv import TierCsvError, parse_tier_csv, with_tiers

app = typer.Typer(help="Rate cards (published to billing.ratecards.v1 as the pricing team would).",
                  no_args_is_help=True)

COLUMNS = ("market", "category", "rate", "currency", "effective_date")
_ALIASES = {"effective_from": "effective_date", "effective": "effective_date", "price": "rate"}


class CsvError(ValueError):
    """A row or header of the CSV that cannot become a rate card line; says where and why."""


_CURRENCY: TypeAdapter[str] = TypeAdapter(Currency)
_DATE: TypeAdapter[date] = TypeAdapter(IsoDate)


def _cell(adapter: TypeAdapter[Any], value: str, line: int, column: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise CsvError(f"line {line}: {column}: {readable(exc)}") from None


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _ALIASES.get(key, key)


def meta_category(text: str) -> str:
    """Meta writes `Marketing`, `Authentication-International`; the contract `marketing`, ..."""
    value = text.strip().lower()
    return value.replace(" ", "_") if value.replace(" ", "_") != "authentication_international" \
        else "authentication-international"


def parse_meta_csv(text: str, markets: dict[str, str], default_market: str, id_prefix: str = "meta",
                   ratecard_id: str | None = None, tick: Any = lambda n=1: None) -> list[RateCard]:
    """One rate card per (currency, effective date) in the CSV, validated as the contract wants."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise CsvError("the file is empty")
    names = {_column(n): n for n in reader.fieldnames if n}
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise CsvError(f"header: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})")
    groups: dict[tuple[str, str], list[RateLine]] = defaultdict(list)
    for row in reader:
        line = reader.line_num
        get = {c: (row.get(names[c]) or "").strip() for c in COLUMNS}
        if not any(get.values()):
            continue
        if row.get(None):  # type: ignore[call-overload]  # DictReader's place for surplus fields
            raise CsvError(f"line {line}: more fields than columns (a decimal comma? rates take a dot: 0.0625)")
        try:
            rate = RateLine.model_validate({"market": get["market"], "category": meta_category(get["category"]),
                                            "rate": get["rate"]})
        except ValidationError as exc:
            raise CsvError(f"line {line}: {readable(exc)}") from None
        currency = _cell(_CURRENCY, get["currency"].upper(), line, "currency")
        effective = _cell(_DATE, get["effective_date"], line, "effective_date").isoformat()
        groups[(currency, effective)].append(rate)
        tick(1)
    if not groups:
        raise CsvError("no rate rows")
    if ratecard_id and len(groups) > 1:
        raise CsvError(f"--id names one card but the file holds {len(groups)} (currency, effective date) pairs")
    cards = []
    for (currency, effective), rates in groups.items():
        try:
            cards.append(RateCard.model_validate({
                "ratecard_id": ratecard_id or f"{id_prefix}-{effective}-{currency}", "currency": currency,
                "effective_from": effective, "markets": markets, "default_market": default_market,
                "rates": rates}))
        except ValidationError as exc:
            raise CsvError(f"card {currency} {effective}: {readable(exc)}") from None
    return cards


def unpriced(card: RateCard) -> list[str]:
    """Warnings: rates (or tiers) for markets no country maps to, markets without any rate."""
    known = set(card.markets.values()) | {card.default_market}
    priced = {line.market for line in card.rates} | {t.market for t in card.tiers or ()}
    return ([f"{card.ratecard_id}: rates for market(s) no country belongs to: {', '.join(sorted(priced - known))}"]
            if priced - known else []) + \
           ([f"{card.ratecard_id}: no rate at all for market(s) {', '.join(sorted(known - priced))} "
             "(their messages would go to the DLQ as no_rate)"] if known - priced else [])


def _markets(pairs: list[str], file: Path | None) -> dict[str, str]:
    found: dict[str, str] = {}
    if file is not None:
        for row in csv.reader(io.StringIO(file.read_text(encoding="utf-8-sig"))):
            if len(row) >= 2 and row[0].strip() and row[0].strip().lower() != "country":
                found[row[0].strip().upper()] = row[1].strip()
    for pair in pairs:
        country, sep, market = pair.partition("=")
        if not sep or not market.strip():
            fail(f"--market wants COUNTRY=MARKET, such as DE=Germany (got {pair!r})")
        found[country.strip().upper()] = market.strip()
    return found


async def _latest(currency: str) -> dict[str, Any] | None:
    try:
        rows = await fetch(settings(), "SELECT card::text FROM usage_ingest.ratecards WHERE currency = $1 "
                           "ORDER BY effective_from DESC LIMIT 1", currency)
    except asyncpg.UndefinedTableError:
        return None
    except OSError as exc:
        err.print(f"[yellow]warning:[/] cannot read the last rate card ({exc})", highlight=False)
        return None
    return json.loads(rows[0]["card"]) if rows else None


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Meta's CSV: market,category,rate,"
                                "currency,effective_date."),
    market: list[str] = typer.Option([], "--market", help="COUNTRY=MARKET, repeatable (DE=Germany)."),
    markets_file: Path = typer.Option(None, "--markets-file", exists=True, dir_okay=False,
                                      help="CSV of country,market rows."),
    default_market: str = typer.Option(None, "--default-market", help="Market of every other country "
                                       "(default: the last card's, else Other)."),
    tiers: Path = typer.Option(None, "--tiers", exists=True, dir_okay=False,
                               help="Meta's volume-tier CSV (per market, a block per category: From, To, "
                               "Rate type, Rate, vs. List rate), added to the card of its currency."),
    ratecard_id: str = typer.Option(None, "--id", help="The card's id (default meta-<date>-<currency>)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and show, publish nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Import a rate card from Meta's CSV layout and publish it (one card per currency and date)."""
    text = file.read_text(encoding="utf-8")
    mapping = _markets(market, markets_file)
    rows = max(text.count("\n") - 1, 0)
    if not mapping or default_market is None:
        currencies = {r.get("currency", "").strip().upper() for r in csv.DictReader(io.StringIO(text))} - {""}
        previous = run(_latest(next(iter(currencies)))) if len(currencies) == 1 else None
        if not mapping and previous:
            mapping = previous["markets"]
            err.print(f"markets: those of {previous['ratecard_id']} ({len(mapping)} countries)", highlight=False)
        default_market = default_market or (previous or {}).get("default_market") or "Other"
    if not mapping:
        fail("which countries belong to which market? give --market DE=Germany ... or --markets-file")
    try:
        with progress(f"Reading {file.name}", rows) as tick:
            cards = parse_meta_csv(text, mapping, default_market, ratecard_id=ratecard_id, tick=tick)
    except CsvError as exc:
        fail(f"{file.name}: {exc}")
    if tiers is not None:
        try:
            cards = with_tiers(cards, parse_tier_csv(tiers.read_text(encoding="utf-8"), meta_category))
        except TierCsvError as exc:
            fail(f"{tiers.name}: {exc}")
    for warning in (w for c in cards for w in unpriced(c)):
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    landed = [] if dry_run else run(publish(settings(), RATECARDS.name,
                                            [(c.currency.encode(), encode(c)) for c in cards]))
    if as_json:
        emit_json([{"card": json.loads(encode(c)), "published": not dry_run,
                    "offset": landed[i].offset if landed else None} for i, c in enumerate(cards)])
        return
    table(None, ("ratecard_id", "currency", "effective_from", "rates", "tier bands", "markets", "default market"),
          [(c.ratecard_id, c.currency, c.effective_from, len(c.rates), len(c.tiers or ()), len(c.markets),
            c.default_market) for c in cards])
    out.print("[yellow]dry run: nothing published[/]" if dry_run else
              f"[green]✓[/] {len(cards)} rate card(s) published to {RATECARDS.name}")


@app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """The rate cards usage ingest knows, newest first per currency."""
    rows = run(fetch(settings(), "SELECT ratecard_id, currency, effective_from, card::text FROM "
                     "usage_ingest.ratecards ORDER BY currency, effective_from DESC"))
    cards = [{"ratecard_id": r["ratecard_id"], "currency": r["currency"], "effective_from": r["effective_from"],
              "rates": len(json.loads(r["card"])["rates"])} for r in rows]
    if as_json:
        emit_json(cards)
    else:
        table(None, ("ratecard_id", "currency", "effective_from", "rates"), [tuple(c.values()) for c in cards])
