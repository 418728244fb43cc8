"""`billing invoices credit`: correct an issued invoice with a credit note.

It publishes `invoice.credit` to `billing.commands.v1` (keyed by the invoice's
period) and waits for the credit note. Before publishing, it judges the
command with the invoicing service's own rules (`domain/credit_notes.py`)
against what earlier credit notes left, so a mistake is one line naming the
option rather than a dead letter.
"""

import hashlib
import json
from typing import Any

import asyncpg
import typer

from services.invoicing.domain.credit_notes import check_settle, credit_note_id, plan
from shared.contracts import ContractViolation, Invoice, InvoiceCredit, encode
from shared.topics import COMMANDS

from .common import JsonOption, connect, emit_json, err, fail, out, publish_models, run, settings, validated
from .invoices import app, poll


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
    async def issued(conn: asyncpg.Connection) -> Invoice | None:
        value = await conn.fetchval("SELECT invoice::text FROM invoicing.invoices WHERE invoice_id = $1::uuid",
                                    note_id)
        return Invoice.model_validate_json(value) if value is not None else None

    return await poll(issued, timeout_s)


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
