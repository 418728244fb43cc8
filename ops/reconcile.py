"""`python -m ops.reconcile`: prove, on a live system, that no money was lost or doubled.

It reads every service's schema (an operator's tool may; the services never
read each other's) and checks the invariants:

1. every balance equals the sum of its ledger entries;
2. every message usage ingest charged is debited exactly once, and nothing
   else is debited as usage;
3. every credit note settled to the balance is credited to it once, with its
   total, and every credit in a ledger has its credit note;
4. every (channel, month) license and (partner, month) plan is billed once;
5. invoice and credit note numbers have no gap and no repeat, per series
   and year;
6. no line of an invoice is credited beyond its amount, and each credit note
   credits what it says;
7. each balance's closing adds up, and its ending balance is the next
   closed month's starting balance;
8. every invoice and credit note on `billing.invoices.v1` that this
   database's invoicing published (its origin header) is in the database
   with the same number and content, and every one in the database is on the
   topic (needs the broker; the topic is read from where invoicing first
   started).

Work still in flight (an outbox not yet published, a consumer behind) is
waited for up to `--settle` seconds before (1) to (3) are judged. Exits 1
and names every broken invariant.
"""

import asyncio
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import uuid
from datetime import UTC, datetime

import asyncpg
import typer
from aiokafka import AIOKafkaProducer, TopicPartition

from shared.contracts import CheckResult, ReconciliationRan, encode
from shared.kafka import client_options
from shared.positions import KafkaPositions
from shared.published_positions import published_by
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import INVOICES, RECONCILIATION


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def balances_match_their_ledgers(conn: asyncpg.Connection) -> Check:
    check = Check("every balance equals the sum of its ledger entries")
    for r in await conn.fetch(
            "SELECT b.owner_id, b.amount, coalesce(l.total, 0) AS total FROM balance.balances b "
            "LEFT JOIN (SELECT owner_id, sum(amount) AS total FROM balance.ledger GROUP BY owner_id) l "
            "USING (owner_id) WHERE b.amount <> coalesce(l.total, 0)"):
        check.problems.append(f"{r['owner_id']}: balance {r['amount']} but entries sum to {r['total']}")
    return check


async def in_flight(conn: asyncpg.Connection) -> int:
    return sum([await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")
                for schema in ("usage_ingest", "balance", "invoicing")])


async def charges_debited_once(conn: asyncpg.Connection, min_age_s: float = 0.0) -> Check:
    """`min_age_s` judges only charges at least that old: on a busy system, the newest are in flight."""
    check = Check("every charged message is debited exactly once")
    missing = await conn.fetch(
        "SELECT m.message_id FROM usage_ingest.messages m WHERE m.outcome = 'charged' "
        "AND m.updated_at <= now() - make_interval(secs => $1) AND NOT EXISTS "
        "(SELECT 1 FROM balance.ledger l WHERE l.kind = 'usage' AND l.business_id = m.message_id) LIMIT 20",
        min_age_s)
    extra = await conn.fetch(
        "SELECT l.business_id FROM balance.ledger l WHERE l.kind = 'usage' AND NOT EXISTS "
        "(SELECT 1 FROM usage_ingest.messages m WHERE m.message_id = l.business_id AND m.outcome = 'charged') "
        "LIMIT 20")
    check.problems += [f"{r['message_id']}: charged but not debited" for r in missing]
    check.problems += [f"{r['business_id']}: debited but not charged" for r in extra]
    return check


async def credits_reach_their_balances(conn: asyncpg.Connection) -> Check:
    check = Check("every credit note settled to a balance is credited to it once, and only those")
    notes = {r["invoice_id"]: (r["number"], Decimal(r["total"])) for r in await conn.fetch(
        "SELECT invoice_id::text, number, invoice->>'total' AS total FROM invoicing.invoices "
        "WHERE kind = 'credit_note' AND invoice->>'settle' = 'credit_balance'")}
    booked = {r["business_id"]: r["amount"] for r in await conn.fetch(
        "SELECT business_id, amount FROM balance.ledger WHERE kind = 'credit'")}
    for note_id, (number, total) in sorted(notes.items()):
        if note_id not in booked:
            check.problems.append(f"{number}: settled to the balance but not credited")
        elif booked[note_id] != total:
            check.problems.append(f"{number}: total {total} but {booked[note_id]} credited")
    check.problems += [f"credit {credit_id}: in a ledger without its credit note" for credit_id in sorted(booked)
                       if credit_id not in notes]
    return check


async def credit_notes_within_invoices(conn: asyncpg.Connection) -> Check:
    check = Check("no invoice line is credited beyond its amount, and each credit note credits what it says")
    for r in await conn.fetch(
            "SELECT i.number, c.line, sum(c.amount) AS credited, i.invoice->'lines'->c.line->>'amount' AS invoiced "
            "FROM invoicing.credit_lines c JOIN invoicing.invoices i USING (invoice_id) "
            "GROUP BY i.number, i.invoice, c.line"):
        if r["invoiced"] is None or r["credited"] > Decimal(r["invoiced"]):
            check.problems.append(f"{r['number']} line {r['line']}: {r['credited']} credited of "
                                  f"{r['invoiced'] or 'no such line'}")
    for r in await conn.fetch(
            "SELECT n.number, n.invoice->>'subtotal' AS subtotal, coalesce(sum(c.amount), 0) AS credited "
            "FROM invoicing.invoices n LEFT JOIN invoicing.credit_lines c ON c.credit_note_id = n.invoice_id "
            "WHERE n.kind = 'credit_note' GROUP BY n.number, n.invoice"):
        if Decimal(r["subtotal"]) != r["credited"]:
            check.problems.append(f"{r['number']}: subtotal {r['subtotal']} but its lines credit {r['credited']}")
    return check


async def recurring_fees_billed_once(conn: asyncpg.Connection) -> Check:
    check = Check("every (channel, month) license and (partner, month) plan is billed once")
    seen: Counter[tuple[str, str, str]] = Counter()
    # A credit note repeats the lines it credits; it bills nothing.
    for r in await conn.fetch("SELECT number, invoice::text FROM invoicing.invoices WHERE kind <> 'credit_note'"):
        invoice = json.loads(r["invoice"])
        for line in invoice["lines"]:
            if line["code"] in ("license", "license_prorated"):
                seen[("license", line["channel_id"], line["service_month"])] += 1
            elif line["code"] in ("partner_plan", "partner_plan_prorated"):
                seen[("plan", invoice["partner_id"], line["service_month"])] += 1
    billed = {(r["item"], r["subject_id"], r["month"])
              for r in await conn.fetch("SELECT item, subject_id, month FROM invoicing.billed")}
    check.problems += [f"{item} {subject} {month}: on {n} invoices" for (item, subject, month), n in seen.items()
                       if n > 1]
    check.problems += [f"{item} {subject} {month}: billed but on no invoice" for item, subject, month in billed
                       if (item, subject, month) not in seen]
    check.problems += [f"{item} {subject} {month}: invoiced but not recorded as billed"
                       for item, subject, month in seen if (item, subject, month) not in billed]
    return check


async def numbers_gapless(conn: asyncpg.Connection) -> Check:
    check = Check("invoice and credit note numbers per year have no gap and no repeat")
    by_year: dict[str, list[int]] = defaultdict(list)
    for r in await conn.fetch("SELECT number FROM invoicing.invoices"):
        series, year, n = r["number"].split("-")
        by_year[f"{series}-{year}"].append(int(n))
    for year, numbers in sorted(by_year.items()):
        repeats = [n for n, c in Counter(numbers).items() if c > 1]
        gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if repeats:
            check.problems.append(f"{year}: repeated {repeats[:10]}")
        if gaps:
            check.problems.append(f"{year}: missing {gaps[:10]}")
    return check


async def closings_chain(conn: asyncpg.Connection) -> Check:
    check = Check("each month's closing adds up and chains to the next")
    by_owner: dict[str, list[dict]] = defaultdict(list)
    for r in await conn.fetch("SELECT month, owner_id, closing::text FROM balance.closings ORDER BY owner_id, month"):
        by_owner[r["owner_id"]].append(json.loads(r["closing"]))
    for owner, closings in by_owner.items():
        previous = None
        for c in closings:
            s, a, u, f, e = (Decimal(c[k]) for k in ("starting_balance", "added_funds", "usage", "refunds",
                                                     "ending_balance"))
            k = Decimal(c.get("credits", "0"))  # closings stored before credit notes have none
            if s + a + k - u - f != e:
                check.problems.append(f"{owner} {c['month']}: {s} + {a} + {k} - {u} - {f} is not {e}")
            if previous is not None and Decimal(previous["ending_balance"]) != s:
                check.problems.append(f"{owner}: {previous['month']} ends at {previous['ending_balance']}, "
                                      f"{c['month']} starts at {s}")
            previous = c
    return check


async def invoices_match_their_topic(conn: asyncpg.Connection, kafka: KafkaSettings) -> Check:
    """The database first, the topic after: an invoice published since is looked up again."""
    check = Check("every invoice on billing.invoices.v1 is in the database with the same number and content, "
                  "and the reverse")
    since = {TopicPartition(r["topic"], r["partition"]): r["since_offset"] for r in await conn.fetch(
        "SELECT topic, partition, since_offset FROM invoicing.published_positions WHERE topic = $1", INVOICES.name)}
    if not since:
        check.problems.append("invoicing has not recorded where its publications start: has it started?")
        return check
    origin = await conn.fetchval("SELECT origin::text FROM invoicing.publisher")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        stored = await _stored_invoices(conn)
        queued = {json.loads(r["value"])["invoice_id"] for r in await conn.fetch(
            "SELECT value FROM invoicing.outbox WHERE topic = $1", INVOICES.name)}
    positions = KafkaPositions(kafka, "billing-reconcile")
    try:
        records = await positions.read(since, await positions.ends(sorted(since)))
    finally:
        await positions.close()
    published: dict[str, list[dict]] = defaultdict(list)
    for record in (r for r in records if published_by(r.headers, origin)):
        body = json.loads(record.value)
        published[body["invoice_id"]].append(body)
    stored |= await _stored_invoices(conn, [i for i in published if i not in stored])
    for invoice_id, copies in sorted(published.items()):
        mine = stored.get(invoice_id)
        if mine is None:
            check.problems.append(f"{copies[0]['number']} ({invoice_id}): published but not in the database")
        elif any(c != mine for c in copies):
            numbers = sorted({c["number"] for c in copies})
            check.problems.append(f"{mine['number']} ({invoice_id}): published as {', '.join(numbers)} with "
                                  "other content than the database's")
    for invoice_id, body in sorted(stored.items()):
        if invoice_id not in published and invoice_id not in queued:
            check.problems.append(f"{body['number']} ({invoice_id}): in the database but never published")
    return check


async def _stored_invoices(conn: asyncpg.Connection, ids: list[str] | None = None) -> dict[str, dict]:
    rows = await conn.fetch("SELECT invoice_id::text, invoice::text FROM invoicing.invoices "
                            "WHERE $1::uuid[] IS NULL OR invoice_id = ANY($1::uuid[])", ids)
    return {r["invoice_id"]: json.loads(r["invoice"]) for r in rows}


async def reconcile(db: DatabaseSettings, settle_s: float, min_age_s: float = 0.0,
                    kafka: KafkaSettings | None = None) -> list[Check]:
    """Every check; the topic's with `kafka` only (the database's own checks need no broker)."""
    conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value())
    try:
        deadline = asyncio.get_running_loop().time() + settle_s
        while True:
            checks = [await balances_match_their_ledgers(conn), await charges_debited_once(conn, min_age_s),
                      await credits_reach_their_balances(conn)]
            if all(c.ok for c in checks) and not await in_flight(conn) or \
                    asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(1)
        checks += [await recurring_fees_billed_once(conn), await numbers_gapless(conn),
                   await credit_notes_within_invoices(conn), await closings_chain(conn)]
        if kafka is not None:
            checks.append(await invoices_match_their_topic(conn, kafka))
        return checks
    finally:
        await conn.close()


def result_of(checks: list[Check], ran_at: datetime | None = None) -> ReconciliationRan:
    """A run as the portal's finance view reads it (billing.internal.reconciliation.v1)."""
    return ReconciliationRan(run_id=str(uuid.uuid4()), ran_at=ran_at or datetime.now(UTC), checks=[
        CheckResult(name=c.name, ok=c.ok, problems=len(c.problems), examples=[p[:512] for p in c.problems[:5]])
        for c in checks])


async def publish_result(checks: list[Check], kafka: KafkaSettings) -> None:
    """Publish a run's result (acks=all, idempotent), keyed so that runs stay in order."""
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **client_options(kafka))
    await producer.start()
    try:
        await producer.send_and_wait(RECONCILIATION.name, encode(result_of(checks)), key=RECONCILIATION.key.encode())
    finally:
        await producer.stop()


def main(settle: float = typer.Option(30.0, help="Seconds to let in-flight work land before judging."),
         as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
         topics: bool = typer.Option(True, "--topics/--no-topics", help="Also compare the invoices topic with the "
                                     "database (reads the broker through BILLING_KAFKA_*)."),
         publish: bool = typer.Option(False, "--publish", help="Also publish the result for the portal's "
                                      "finance view (billing.internal.reconciliation.v1; BILLING_KAFKA_*).")) -> None:
    """Check the invariants of money on the live system; exit 1 naming what is wrong."""
    checks = asyncio.run(reconcile(DatabaseSettings(), settle, kafka=KafkaSettings() if topics else None))
    if publish:
        asyncio.run(publish_result(checks, KafkaSettings()))
    if as_json:
        typer.echo(json.dumps([{"check": c.name, "ok": c.ok, "problems": c.problems} for c in checks], indent=2))
    else:
        for c in checks:
            typer.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.name}")
            for p in c.problems[:20]:
                typer.echo(f"       {p}")
    if not all(c.ok for c in checks):
        sys.exit(1)


if __name__ == "__main__":
    typer.run(main)
