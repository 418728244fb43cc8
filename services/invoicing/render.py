"""An invoice for people: plain text or HTML, from the contract message.

`python -m services.invoicing.render INV-2026-000042 [--html | --pdf FILE]` reads it from the invoicing database.
"""

import asyncio
import html
import json
from decimal import Decimal
from pathlib import Path

import asyncpg
import typer

from shared.contracts import Invoice
from shared.settings import InvoicingSettings

KINDS = {"prepayment": "Prepayment invoice", "subscription": "Subscription invoice",
         "partner_plan": "Partner plan invoice", "license": "License invoice",
         "license_prorated": "License (prorated) invoice", "month_closing": "Month closing invoice",
         "credit_note": "Credit note"}
SETTLE = {"credit_balance": "credited to the prepaid balance", "payable": "paid out or offset by accounting"}
TREATMENTS = {"standard": "VAT", "reverse_charge": "VAT, reverse charge", "outside_scope": "VAT, outside the scope"}


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}" if value == value.quantize(Decimal("0.01")) else f"{value} {currency}"


def text(inv: Invoice) -> str:
    r = inv.recipient
    rows = [f"{KINDS[inv.kind]} {inv.number}", f"Issued {inv.issued_at:%Y-%m-%d %H:%M} UTC · period {inv.period}",
            f"To: {r.name} ({r.type} {r.id}), {r.country}" + (f", VAT id {r.vat_id}" if r.vat_id else "")]
    if inv.corrects:
        rows += [f"Corrects {inv.corrects.number}: {inv.reason}", f"Settled: {SETTLE[inv.settle or 'payable']}"]
    rows.append("")
    width = max([len(line.description) for line in inv.lines] + [20])
    for line in inv.lines:
        rows.append(f"  {line.description:<{width}}  {line.quantity:>6} × {line.unit_price:>10}  "
                    f"{_money(line.amount, inv.currency):>16}")
    rows += ["", f"  {'Subtotal':<{width}}  {'':>19}  {_money(inv.subtotal, inv.currency):>16}",
             f"  {TREATMENTS[inv.tax.treatment] + ' ' + format((inv.tax.rate * 100).normalize(), 'f') + ' %':<{width}}"
             f"  {'':>19}  {_money(inv.tax.amount, inv.currency):>16}",
             f"  {'Total':<{width}}  {'':>19}  {_money(inv.total, inv.currency):>16}"]
    if inv.summary:
        s = inv.summary
        rows += ["", "  Credit balance", f"    starting {s.starting_balance}  + added {s.added_funds}"
                 f"  + credits {s.credits}  - usage {s.usage}  - refunds {s.refunds}  = ending {s.ending_balance} "
                 f"{inv.currency}"]
    return "\n".join(rows) + "\n"


def to_html(inv: Invoice) -> str:
    e = html.escape
    lines = "".join(
        f"<tr><td>{e(l.description)}</td><td class=n>{l.quantity}</td><td class=n>{l.unit_price}</td>"
        f"<td class=n>{e(_money(l.amount, inv.currency))}</td></tr>" for l in inv.lines)
    summary = ""
    if inv.summary:
        s = inv.summary
        summary = (f"<h2>Credit balance</h2><p>Starting {s.starting_balance} + added {s.added_funds} + credits "
                   f"{s.credits} − usage {s.usage} − refunds {s.refunds} = ending {s.ending_balance} "
                   f"{e(inv.currency)}</p>")
    corrects = ""
    if inv.corrects:
        corrects = (f"<p>Corrects {e(inv.corrects.number)}: {e(inv.reason or '')}</p>"
                    f"<p>Settled: {e(SETTLE[inv.settle or 'payable'])}</p>")
    r = inv.recipient
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(inv.number)}</title>
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto}}td,th{{padding:.3em .6em}}
.n{{text-align:right}}table{{border-collapse:collapse;width:100%}}tr{{border-bottom:1px solid #ddd}}</style>
</head><body><h1>{e(KINDS[inv.kind])} {e(inv.number)}</h1>
<p>Issued {inv.issued_at:%Y-%m-%d %H:%M} UTC · period {e(inv.period)}</p>
<p><strong>{e(r.name)}</strong> ({e(r.type)} {e(r.id)}), {e(r.country)}{', VAT id ' + e(r.vat_id) if r.vat_id else ''}</p>{corrects}
<table><tr><th>Description</th><th class=n>Qty</th><th class=n>Unit price</th><th class=n>Amount</th></tr>{lines}
<tr><td colspan=3>Subtotal</td><td class=n>{e(_money(inv.subtotal, inv.currency))}</td></tr>
<tr><td colspan=3>{e(TREATMENTS[inv.tax.treatment])} {inv.tax.rate}</td><td class=n>{e(_money(inv.tax.amount, inv.currency))}</td></tr>
<tr><th colspan=3>Total</th><th class=n>{e(_money(inv.total, inv.currency))}</th></tr></table>{summary}</body></html>
"""


async def load(number_or_id: str, settings: InvoicingSettings) -> Invoice | None:
    db = settings.db
    conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value())
    try:
        row = await conn.fetchval("SELECT invoice::text FROM invoicing.invoices WHERE number = $1 "
                                  "OR invoice_id::text = $1", number_or_id)
    finally:
        await conn.close()
    return Invoice.model_validate_json(row) if row else None


def main(invoice: str = typer.Argument(..., help="Invoice number (INV-2026-000042) or id."),
         as_html: bool = typer.Option(False, "--html", help="HTML instead of plain text."),
         pdf: Path = typer.Option(None, "--pdf", help="Write a PDF rendered now with the configured seller (a "
                                  "preview: `billing invoices pdf` writes the one issued).")) -> None:
    """Print one invoice, rendered for a person."""
    settings = InvoicingSettings()
    found = asyncio.run(load(invoice, settings))
    if found is None:
        typer.echo(f"No invoice {invoice}.", err=True)
        raise typer.Exit(1)
    if pdf is not None:
        from .documents.make import make
        from .documents.model import from_message
        from .documents.seller import SellerIncomplete, from_settings
        try:
            seller = from_settings(settings.seller)
        except SellerIncomplete as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        data = from_message(json.loads(found.model_dump_json()))
        pdf.write_bytes(next(d.content for d in make(data, seller) if d.format == "pdf"))
        typer.echo(f"{pdf} written (a preview; the issued PDF: billing invoices pdf {found.number})", err=True)
        return
    typer.echo(to_html(found) if as_html else text(found), nl=False)


if __name__ == "__main__":
    typer.run(main)
