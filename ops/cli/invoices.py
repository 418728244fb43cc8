"""`billing invoices`: list, show one for a person, export a month for accounting, close a month (and
credit an invoice: `credit_notes.py`).

Invoices are read from invoicing's table (the contract message as issued);
closing a month publishes `month.close` to `billing.commands.v1`, which the
invoicing service answers by issuing the month's invoices once.
"""

import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import asyncpg
import typer

from services.invoicing.render import text, to_html
from shared.contracts import Invoice, InvoiceKind, MonthClose, encode
from shared.months import month_of, next_month
from shared.topics import COMMANDS

from . import documents
from .common import (JsonOption, connect, emit_json, err, fail, fetch, out, progress, publish_models, run, settings,
                     table, validated)

app = typer.Typer(help="Invoices: list, show, their documents, export for accounting, close a month, credit an invoice.",
                  no_args_is_help=True)

CSV_COLUMNS = (
    "invoice_number", "invoice_id", "kind", "billing_model", "issued_at", "period", "currency",
    "partner_id", "recipient_type", "recipient_id", "recipient_name", "recipient_country", "recipient_vat_id",
    "line_no", "line_code", "line_description", "category", "usage_month", "service_month", "client_id",
    "channel_id", "quantity", "unit_price", "line_amount", "tax_treatment", "tax_rate", "invoice_subtotal",
    "invoice_tax", "invoice_total",
)
"""The accounting export's columns, in this order (docs/operations.md explains each)."""


def _month(value: str, option: str) -> str:
    return validated(MonthClose, {"type": "month.close", "command_id": "x", "month": value}, "month",
                     {"month": option}).month


async def _invoices(where: str, *args: Any) -> list[Invoice]:
    rows = await fetch(settings(), f"SELECT invoice::text FROM invoicing.invoices WHERE {where} "
                       "ORDER BY issued_at, number", *args)
    return [Invoice.model_validate_json(r["invoice"]) for r in rows]


@app.command("list")
def list_(
    recipient: str = typer.Option(None, help="Only invoices to this partner or client id."),
    month: str = typer.Option(None, help="Only invoices about this month (their period, YYYY-MM)."),
    partner_id: str = typer.Option(None, "--partner", help="Only invoices under this partner."),
    kind: str = typer.Option(None, help="Only this kind (prepayment, subscription, month_closing, ...)."),
    as_json: bool = JsonOption,
) -> None:
    """Invoices by recipient and month, oldest first."""
    if month is not None:
        month = _month(month, "--month")
    if kind is not None and kind not in get_args(InvoiceKind):
        fail(f"--kind {kind!r} is not an invoice kind; one of: {', '.join(get_args(InvoiceKind))}")
    found = run(_invoices("($1::text IS NULL OR recipient_id = $1) AND ($2::text IS NULL OR period = $2) AND "
                          "($3::text IS NULL OR partner_id = $3) AND ($4::text IS NULL OR kind = $4)",
                          recipient, month, partner_id, kind))
    if as_json:
        emit_json([json.loads(encode(i)) for i in found])
        return
    table(f"{len(found)} invoice(s)", ("number", "kind", "recipient", "period", "issued", "total"),
          [(i.number, i.kind, f"{i.recipient.id} ({i.recipient.name})", i.period, f"{i.issued_at:%Y-%m-%d %H:%M}",
            f"{i.total} {i.currency}") for i in found])


@app.command()
def show(
    invoice: str = typer.Argument(..., help="Invoice number (INV-2026-000042) or id."),
    as_html: bool = typer.Option(False, "--html", help="An HTML page instead of plain text."),
    as_json: bool = JsonOption,
) -> None:
    """One invoice rendered for a person (or as the contract message with --json)."""
    found = run(_invoices("number = $1 OR invoice_id::text = $1", invoice))
    if not found:
        fail(f"no invoice {invoice}", code=1)
    if as_json:
        emit_json(json.loads(encode(found[0])))
    else:
        sys.stdout.write(to_html(found[0]) if as_html else text(found[0]))


def csv_rows(invoices: list[Invoice]) -> list[dict[str, Any]]:
    """One row per invoice line, amounts as exact decimal strings."""
    rows = []
    for inv in invoices:
        r = inv.recipient
        head = {"invoice_number": inv.number, "invoice_id": inv.invoice_id, "kind": inv.kind,
                "billing_model": inv.billing_model, "issued_at": inv.issued_at, "period": inv.period,
                "currency": inv.currency, "partner_id": inv.partner_id, "recipient_type": r.type,
                "recipient_id": r.id, "recipient_name": r.name, "recipient_country": r.country,
                "recipient_vat_id": r.vat_id, "tax_treatment": inv.tax.treatment, "tax_rate": inv.tax.rate,
                "invoice_subtotal": inv.subtotal, "invoice_tax": inv.tax.amount, "invoice_total": inv.total}
        for n, line in enumerate(inv.lines, start=1):
            rows.append({**head, "line_no": n, "line_code": line.code, "line_description": line.description,
                         "category": line.category, "usage_month": line.usage_month,
                         "service_month": line.service_month, "client_id": line.client_id,
                         "channel_id": line.channel_id, "quantity": line.quantity, "unit_price": line.unit_price,
                         "line_amount": line.amount})
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return format(value, "f") if hasattr(value, "is_finite") else str(value)


@app.command()
def export(
    month: str = typer.Argument(..., help="The month, YYYY-MM."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the CSV here (default: stdout)."),
    by: str = typer.Option("issued", help="issued: invoices issued in the month (the books); period: "
                           "invoices about the month."),
    partner_id: str = typer.Option(None, "--partner", help="Only invoices under this partner."),
) -> None:
    """A month's invoices as CSV for accounting: one row per invoice line, fixed columns."""
    month = _month(month, "MONTH")
    if by not in ("issued", "period"):
        fail(f"--by is issued or period, not {by!r}")
    where = ("to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM') = $1" if by == "issued" else "period = $1")
    invoices = run(_invoices(f"{where} AND ($2::text IS NULL OR partner_id = $2)", month, partner_id))
    sink = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(sink, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        with progress(f"Exporting {month}", len(invoices)) as tick:
            for inv in invoices:
                for row in csv_rows([inv]):
                    writer.writerow({k: _cell(v) for k, v in row.items()})
                tick(1)
    finally:
        if output:
            sink.close()
    err.print(f"{len(invoices)} invoice(s) of {month} ({by}) exported"
              + (f" to {output}" if output else ""), highlight=False)


async def poll(look: Callable[[asyncpg.Connection], Awaitable[Any]], timeout_s: float) -> Any:
    """What `look` finds, asked every half second until it finds something or the time is up (None)."""
    conn = await connect(settings())
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            found = await look(conn)
            if found is not None:
                return found
            await asyncio.sleep(0.5)
        return None
    finally:
        await conn.close()


async def _wait_closed(month: str, timeout_s: float) -> dict[str, Any] | None:
    async def done(conn: asyncpg.Connection) -> dict[str, Any] | None:
        row = await conn.fetchrow("SELECT state, done_at FROM invoicing.closes WHERE month = $1", month)
        if row is None or row["state"] != "done":
            return None
        count = await conn.fetchval(
            "SELECT count(*) FROM invoicing.invoices WHERE (period = $1 AND kind = 'month_closing') OR "
            "(period = $2 AND kind IN ('subscription', 'license', 'partner_plan'))", month, next_month(month))
        return {"month": month, "state": "done", "done_at": row["done_at"], "invoices": count}

    return await poll(done, timeout_s)


@app.command()
def close(
    month: str = typer.Argument(..., help="The month to close, YYYY-MM."),
    command_id: str = typer.Option(None, "--id", help="The command's id (default close-<month>)."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until invoicing has issued the invoices."),
    timeout: float = typer.Option(300.0, help="Seconds to wait."),
    force: bool = typer.Option(False, help="Close a month that has not ended yet."),
    as_json: bool = JsonOption,
) -> None:
    """Close a month: invoicing issues its invoices (closing a closed month issues nothing new)."""
    month = _month(month, "MONTH")
    if month >= month_of(datetime.now(UTC)) and not force:
        fail(f"{month} has not ended yet; closing it now would bill it early (use --force to close it anyway)")
    command = validated(MonthClose, {"type": "month.close", "command_id": command_id or f"close-{month}",
                                     "month": month}, "command", {"command_id": "--id"})
    meta = publish_models(settings(), COMMANDS.name, month, command, as_json, f"close of {month}",
                          show=not (wait and as_json))
    if not wait:
        return
    with err.status(f"Invoicing closes {month}…"):
        done = run(_wait_closed(month, timeout))
    if done is None:
        fail(f"{month} was not closed within {timeout:.0f} s: is invoicing running? (billing stack status)", 1)
    if as_json:
        emit_json({**done, "command_id": command.command_id, "offset": meta.offset})
    else:
        out.print(f"[green]✓[/] {month} closed: {done['invoices']} month-closing and advance invoice(s)",
                  highlight=False)


app.command("pdf")(documents.pdf)
app.command("xml")(documents.xml)
