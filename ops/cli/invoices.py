"""`billing invoices`: list, show one for a person, export a month for accounting, close a month, credit.

Invoices are read from invoicing's table (the contract message as issued);
closing a month publishes `month.close` and crediting an invoice
`invoice.credit` to `billing.commands.v1`, which the invoicing service answers
by issuing the month's invoices, or the credit note, once.
"""

import asyncio
import csv
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import typer

from services.invoicing.domain.credit_notes import check_settle, credit_note_id, plan
from services.invoicing.render import text, to_html
from shared.contracts import ContractViolation, Invoice, InvoiceCredit, InvoiceKind, MonthClose, encode
from shared.months import month_of, next_month
from shared.topics import COMMANDS

from .common import (JsonOption, connect, emit_json, err, fail, fetch, out, progress, publish_models, run, settings,
                     table, validated)

app = typer.Typer(help="Invoices: list, show, export for accounting, close a month, credit an invoice.",
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


async def _wait_closed(month: str, timeout_s: float) -> dict[str, Any] | None:
    conn = await connect(settings())
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            row = await conn.fetchrow("SELECT state, done_at FROM invoicing.closes WHERE month = $1", month)
            if row is not None and row["state"] == "done":
                count = await conn.fetchval(
                    "SELECT count(*) FROM invoicing.invoices WHERE (period = $1 AND kind = 'month_closing') OR "
                    "(period = $2 AND kind IN ('subscription', 'license', 'partner_plan'))", month, next_month(month))
                return {"month": month, "state": "done", "done_at": row["done_at"], "invoices": count}
            await asyncio.sleep(0.5)
        return None
    finally:
        await conn.close()


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


def _credit_options(lines: list[int]) -> dict[str, str]:
    """Contract field paths → the options they came from, for error messages."""
    names = {"lines": "--line", "reason": "--reason", "settle": "--settle", "command_id": "--id",
             "invoice_id": "INVOICE"}
    for i in range(len(lines)):
        names |= {f"lines.{i}.line": f"--line {lines[i]}", f"lines.{i}.amount": f"--amount of --line {lines[i]}"}
    return names


async def _credit_state(number: str) -> tuple[Invoice | None, dict[int, Any]]:
    """The invoice, and what earlier credit notes took off each of its lines."""
    conn = await connect(settings())
    try:
        value = await conn.fetchval("SELECT invoice::text FROM invoicing.invoices WHERE number = $1 "
                                    "OR invoice_id::text = $1", number)
        if value is None:
            return None, {}
        invoice = Invoice.model_validate_json(value)
        rows = await conn.fetch("SELECT line, credited FROM invoicing.line_credits WHERE invoice_id = $1::uuid",
                                invoice.invoice_id)
        return invoice, {r["line"]: r["credited"] for r in rows}
    finally:
        await conn.close()


async def _wait_issued(note_id: str, timeout_s: float) -> Invoice | None:
    conn = await connect(settings())
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            value = await conn.fetchval("SELECT invoice::text FROM invoicing.invoices WHERE invoice_id = $1::uuid",
                                        note_id)
            if value is not None:
                return Invoice.model_validate_json(value)
            await asyncio.sleep(0.5)
        return None
    finally:
        await conn.close()


@app.command()
def credit(
    invoice: str = typer.Argument(..., help="The invoice to correct: its number (INV-2026-000042) or id."),
    line: list[int] = typer.Option([], "--line", help="A line to credit, by its 0-based position on the invoice "
                                   "(as `show` lists them, from 0); repeat with --amount. None: every line in full."),
    amount: list[str] = typer.Option([], "--amount", help="How much of the --line before it to credit, e.g. 25.00."),
    reason: str = typer.Option(..., "--reason", help="Why the invoice is corrected; printed on the credit note."),
    settle: str = typer.Option(..., "--settle", help="credit_balance: back to the prepaid balance (tax included); "
                               "payable: accounting pays it out or offsets it."),
    command_id: str = typer.Option(None, "--id", help="The command's id (default: derived from the invoice, lines, "
                                   "reason and settle, so running the same command again issues nothing new)."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until invoicing has issued the credit note."),
    timeout: float = typer.Option(60.0, help="Seconds to wait."),
    as_json: bool = JsonOption,
) -> None:
    """Correct an issued invoice with a credit note (CN-…): some lines in part, or every line in full."""
    if len(line) != len(amount):
        fail(f"--line and --amount go in pairs: {len(line)} --line, {len(amount)} --amount")
    names = _credit_options(line)
    pairs = [{"line": n, "amount": a} for n, a in zip(line, amount, strict=True)] or None
    command = validated(InvoiceCredit, {"type": "invoice.credit", "command_id": command_id or "-", "invoice_id": invoice,
                                        "lines": pairs, "reason": reason, "settle": settle}, "credit", names)
    found, credited = run(_credit_state(invoice))
    if found is None:
        fail(f"no invoice {invoice}", code=1)
    command = command.model_copy(update={"invoice_id": found.invoice_id})
    if command_id is None:
        # The same correction asked twice (by number or by id) is one command: one credit note.
        fingerprint = hashlib.sha256(encode(command)).hexdigest()[:16]
        command = command.model_copy(update={"command_id": f"credit-{found.number}-{fingerprint}"})
    try:
        plan(found, command, credited)
        check_settle(found, command)
    except ContractViolation as refused:
        message = refused.message
        for field, option in names.items():
            message = message.replace(f"{field}: ", f"{option}: ")
        fail(message)
    meta = publish_models(settings(), COMMANDS.name, found.period, command, as_json,
                          f"credit of {found.number}", show=not (wait and as_json))
    if not wait:
        return
    with err.status(f"Invoicing credits {found.number}…"):
        note = run(_wait_issued(credit_note_id(command.command_id), timeout))
    if note is None:
        fail(f"no credit note within {timeout:.0f} s: is invoicing running, or was the command refused? "
             "(billing deadletters list --topic billing.commands.v1)", 1)
    if as_json:
        emit_json({"credit_note": json.loads(encode(note)), "command_id": command.command_id, "offset": meta.offset})
    else:
        out.print(f"[green]✓[/] {note.number} credits {note.total} {note.currency} of {found.number} "
                  f"({note.settle})", highlight=False)
