"""`python -m bench.close_month`: how long closing a month takes for 10,000 channels.

On a fresh PostgreSQL of its own (`.stack/bench`), it builds the state a month
leaves behind: 100 partners (half Partner-Paid, half Direct-Paid) with 100
channels each, a card payment and usage on every balance. Then it times the
two parts of a close that do work, each in its one transaction, through the
services' own code and stores:

1. the ledger's close (balance service): summarise every balance, store the
   closings and queue them for publication;
2. the invoices (invoicing service): every subscription, partner plan,
   license and month-closing invoice, numbered and queued;
3. their documents (invoicing's background step, services/invoicing/issue_documents.py): the
   PDF/A-3, the CII and the XRechnung of every one of those invoices, rendered by `--workers`
   processes, stored and queued for publication; the close is done when the last is stored.
   `--documents N` makes those of the first N invoices only and extrapolates (0: none).

The barrier in between waits for the pipeline to catch up; it costs nothing
when the pipeline is idle. Results: printed and bench/results/close_month.json.
"""

import asyncio
import json
import os
import resource
from contextlib import asynccontextmanager
import shutil
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import typer

from deploy.stack import postgres
from deploy.stack.settings import PROJECT_ROOT
from services.balance import service as balance_service
from services.balance.adapters.postgres import PostgresBalanceStore
from services.balance.domain.ledger import Entry
from services.balance.ports import BalanceSpec
from services.invoicing import service as invoicing_service
from services.invoicing import issue_documents
from services.invoicing.adapters.postgres import PostgresInvoiceStore
from services.invoicing.adapters.renderer import ProcessRenderer
from services.invoicing.documents.seller import EXAMPLE_SELLER
from shared.contracts import ChannelAdded, ClientUpserted, LedgerClose, PartnerUpserted
from shared.db import migrate
from shared.settings import DatabaseSettings
from tests.builders import channel, client, partner

from .services import RESULTS, bench_stack

MONTH = "2026-10"
BALANCE_MIGRATIONS = PROJECT_ROOT / "services" / "balance" / "migrations"
INVOICING_MIGRATIONS = PROJECT_ROOT / "services" / "invoicing" / "migrations"


def directory(partners: int, channels: int):
    for p in range(partners):
        model = "partner_paid" if p % 2 == 0 else "direct_paid"
        pid = f"close{p:03d}PA"
        yield PartnerUpserted.model_validate(partner(pid, model, "EUR", created_at="2026-09-01T00:00:00Z"))
        yield ClientUpserted.model_validate(client(f"close{p:03d}CL", pid))
        for c in range(channels):
            yield ChannelAdded.model_validate(channel(f"close{p:03d}CH{c:03d}", f"close{p:03d}CL", pid,
                                                      "2026-09-15T00:00:00Z"))


async def build(conn: asyncpg.Connection, partners: int, channels: int) -> int:
    balances, invoicing = PostgresBalanceStore(conn), PostgresInvoiceStore(conn)
    specs, entries = [], []
    at = datetime(2026, 10, 10, tzinfo=UTC)
    for event in directory(partners, channels):
        if isinstance(event, PartnerUpserted):
            await conn.execute("SET search_path TO balance")
            await balances.upsert_partner(event)
            if event.billing_model == "partner_paid":
                specs.append(BalanceSpec(event.partner_id, "partner", event.partner_id, None, "partner_paid", "EUR"))
            await conn.execute("SET search_path TO invoicing")
            await invoicing.upsert_partner(event)
        elif isinstance(event, ClientUpserted):
            await conn.execute("SET search_path TO invoicing")
            await invoicing.upsert_client(event)
        else:
            await conn.execute("SET search_path TO balance")
            spec = await balances.upsert_channel(event)
            if spec:
                specs.append(spec)
            await conn.execute("SET search_path TO invoicing")
            await invoicing.upsert_channel(event)
    await conn.execute("SET search_path TO balance")
    await balances.open_balances(specs)
    for spec in specs:
        entries.append(Entry("payment", f"pay-{spec.owner_id}", spec.owner_id, Decimal("50.00"), at, MONTH,
                             method="card"))
        owned = [spec.owner_id] if spec.kind == "channel" else [
            f"{spec.owner_id[:8]}CH{c:03d}" for c in range(channels)]
        for ch in owned:
            for i in range(3):
                entries.append(Entry("usage", f"u-{ch}-{i}", spec.owner_id, Decimal("-0.1131"),
                                     at + timedelta(minutes=i), MONTH, ch, f"{ch[:8]}CL", "marketing"))
    for i in range(0, len(entries), 5000):
        await balances.write_entries(entries[i:i + 5000])
    return len(entries)


async def run(partners: int, channels: int, documents_limit: int = -1, workers: int = 2) -> dict:
    s = bench_stack()
    postgres.stop(s)
    shutil.rmtree(s.dir, ignore_errors=True)
    postgres.start(s)
    db = DatabaseSettings(port=s.pg_port, password=s.pg_password)
    try:
        migrate(db, "balance", BALANCE_MIGRATIONS)
        migrate(db, "invoicing", INVOICING_MIGRATIONS)
        conn = await asyncpg.connect(db.dsn())
        try:
            entries = await build(conn, partners, channels)
            await conn.execute("SET search_path TO balance")
            started = time.perf_counter()
            async with conn.transaction():
                await balance_service.close_ledger(_uow(conn, PostgresBalanceStore),
                                                   LedgerClose(type="ledger.close", close_id="bench", month=MONTH))
            ledger_s = time.perf_counter() - started
            closings = await PostgresBalanceStore(conn).saved_closings(MONTH)
            await conn.execute("SET search_path TO invoicing")
            started = time.perf_counter()
            async with conn.transaction():
                invoices = await invoicing_service.issue_month(
                    PostgresInvoiceStore(conn), MONTH, {c.balance.owner_id: c for c in closings},
                    datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
            invoices_s = time.perf_counter() - started
            documents = await _documents(conn, documents_limit, workers) if documents_limit else None
        finally:
            await conn.close()
    finally:
        postgres.stop(s)
    result = {"channels": partners * channels, "partners": partners, "ledger_entries": entries,
              "balances_closed": len(closings), "ledger_close_seconds": round(ledger_s, 2),
              "invoices": invoices, "invoicing_seconds": round(invoices_s, 2),
              "close_seconds": round(ledger_s + invoices_s, 2)}
    if documents:
        made, seconds, stored, cpu = documents
        per_second = made / seconds
        result.update({"document_workers": workers, "documents_invoices": made,
                       "documents_seconds": round(seconds, 2), "documents_stored": stored,
                       "documents_mb": round(sum(stored.values()) / 1e6, 1),
                       "invoices_with_documents_per_second": round(per_second, 2),
                       "extrapolated": made < invoices,
                       "document_cpu_seconds_per_invoice": round(cpu / made, 3),
                       "close_with_documents_seconds_at_full_cores": round(
                           ledger_s + invoices_s + invoices * cpu / made / workers, 1),
                       "close_with_documents_seconds": round(ledger_s + invoices_s + invoices / per_second, 1)})
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


async def _documents(conn: asyncpg.Connection, limit: int,
                     workers: int) -> tuple[int, float, dict[str, int], float]:
    """Documents of the first `limit` invoices queued by the close, as the service makes them: (invoices,
    seconds, bytes stored per format, the workers' CPU seconds)."""
    if limit > 0:  # the rest of the queue is left for another run
        await conn.execute("DELETE FROM documents_pending WHERE invoice_id NOT IN (SELECT invoice_id FROM "
                           "documents_pending ORDER BY queued_at, invoice_id LIMIT $1)", limit)
    renderer = ProcessRenderer(EXAMPLE_SELLER, workers)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        await renderer.warm()  # the workers start (and import WeasyPrint) before the clock does
        started = time.perf_counter()
        made = await issue_documents.make_all_documents(_uow(conn, PostgresInvoiceStore), renderer, 4 * workers)
        seconds = time.perf_counter() - started
    finally:
        await renderer.close()
    # The workers' CPU (they have exited now), start-up included: the figure the machine's load does not move.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stored = {r["format"]: r["bytes"] for r in await conn.fetch(
        "SELECT format, sum(size)::bigint AS bytes FROM documents GROUP BY format")}
    return made, seconds, stored, cpu


def _uow(conn: asyncpg.Connection, store_class):
    """The services' use cases on one connection (the transaction is the caller's)."""

    @asynccontextmanager
    async def transaction():
        async with conn.transaction():
            yield store_class(conn)

    return transaction


def main(partners: int = typer.Option(100, help="Partners, half of each model."),
         channels: int = typer.Option(100, help="Channels per partner."),
         documents: int = typer.Option(-1, help="Make the documents of this many invoices (-1: all, 0: none)."),
         workers: int = typer.Option(2, help="Processes that render documents.")) -> None:
    result = asyncio.run(run(partners, channels, documents, workers))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "close_month.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
