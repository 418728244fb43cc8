"""`billing invoices pdf|xml NUMBER -o FILE`: an invoice's documents, byte for byte as issued.

Read from invoicing's `documents` table, where each is stored once with its SHA-256 when the
invoice is issued (docs/invoicing.md, "Documents"); nothing is rendered again here.
"""

import hashlib
import sys
from pathlib import Path

import typer

from .common import err, fail, fetch, run, settings

_OUTPUT = typer.Option(..., "--output", "-o", help="Write it here ('-' for standard output).")


async def _document(invoice: str, fmt: str) -> tuple[str | None, bytes | None, str | None]:
    """(the invoice's number, the document's bytes, their stored SHA-256); None where there is none."""
    rows = await fetch(settings(), "SELECT i.number, d.content, d.sha256 FROM invoicing.invoices i "
                       "LEFT JOIN invoicing.documents d ON d.invoice_id = i.invoice_id AND d.format = $2 "
                       "WHERE i.number = $1 OR i.invoice_id::text = $1", invoice, fmt)
    if not rows:
        return None, None, None
    return rows[0]["number"], rows[0]["content"], rows[0]["sha256"]


def _write(invoice: str, fmt: str, output: Path, what: str) -> None:
    number, content, sha256 = run(_document(invoice, fmt))
    if number is None:
        fail(f"no invoice {invoice}", code=1)
    if content is None:
        fail(f"{number} has no {what} yet" + (" (its documents are still being made: try again in a moment)"
                                              if fmt != "xrechnung" else
                                              " (only recipients in Germany with a known postal address get one)"),
             code=1)
    if hashlib.sha256(content).hexdigest() != sha256:
        fail(f"the stored {what} of {number} does not match its SHA-256: report it, do not send it", code=1)
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(content)
    err.print(f"{what} of {number} written to {output} ({len(content):,} bytes, sha256 {sha256})", highlight=False)


def pdf(invoice: str = typer.Argument(..., help="Invoice number (INV-2026-000042, CN-…) or id."),
        output: Path = _OUTPUT) -> None:
    """Write an invoice's PDF/A-3 with its EN 16931 data embedded (ZUGFeRD / Factur-X), as issued."""
    _write(invoice, "pdf", output, "PDF")


def xml(invoice: str = typer.Argument(..., help="Invoice number (INV-2026-000042, CN-…) or id."),
        output: Path = _OUTPUT,
        xrechnung: bool = typer.Option(False, "--xrechnung", help="The XRechnung 3.0 file instead of the "
                                       "EN 16931 CII (German recipients only).")) -> None:
    """Write an invoice's EN 16931 XML (CII), or its XRechnung, as issued."""
    _write(invoice, "xrechnung" if xrechnung else "cii", output, "XRechnung" if xrechnung else "EN 16931 XML")
