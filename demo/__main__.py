"""`python -m demo`: play October 2026 through the running system and print what it billed.

It publishes what the other systems would (the Hub's directory, the pricing
team's rate cards, the payment provider's payments, the messaging platform's
statuses), answers the platform's top-up requests as the payment provider
would, closes the month, then prints each balance, the balance events and the
invoices per recipient, and runs the reconciliation. Every id is fixed, so a
second run changes nothing and prints the same.
"""

import asyncio
import json
import sys

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from ops.lag import consumer_lag
from ops.cli.keys import link_for
from ops.reconcile import in_flight, publish_result, reconcile
from services.portal.domain.principals import Principal
from services.invoicing.render import text
from shared.contracts import Invoice
from shared.settings import DatabaseSettings, KafkaSettings
from shared.topics import (BALANCE_CREDITS, BALANCE_EVENTS, BALANCE_MOVES, COMMANDS, DIRECTORY, INVOICES,
                           LEDGER_CLOSE, LEDGER_CLOSED, LEDGER_ENTRIES, MESSAGE_STATUS, PAYMENTS, RATECARDS,
                           TOPUP_REQUESTS, USAGE_DAYS, USAGE_PRICED)

from . import month

# Wide enough for the tables and invoices when the output is a file or a pipe, not a terminal.
console = Console(width=max(Console().width, 120))
GROUPS = {"billing-usage-ingest": (MESSAGE_STATUS, DIRECTORY, RATECARDS),
          "billing-balance": (USAGE_PRICED, PAYMENTS, DIRECTORY, LEDGER_CLOSE, TOPUP_REQUESTS, BALANCE_CREDITS),
          "billing-invoicing": (COMMANDS, DIRECTORY, LEDGER_ENTRIES, LEDGER_CLOSED),
          "billing-portal": (DIRECTORY, BALANCE_MOVES, USAGE_DAYS, INVOICES, BALANCE_EVENTS, LEDGER_ENTRIES)}
OWNERS = ("acmePA", "globexCH0007", "globexCH0008", "globexCH0009", "globexCH0010")


async def publish(producer: AIOKafkaProducer, topic: str, key_field: str, values: list[dict]) -> None:
    futures = [await producer.send(topic, json.dumps(v).encode(), key=_key(v, key_field).encode()) for v in values]
    await asyncio.gather(*futures)


def _key(value: dict, field: str) -> str:
    if field == "account":
        return value["account"].get("partner_id") or value["account"]["channel_id"]
    return value[field]


async def settle(bootstrap: str, conn: asyncpg.Connection, what: str, timeout_s: float = 180) -> None:
    """Wait until every service has consumed everything and published its outbox, twice in a row."""
    quiet = 0
    with console.status(f"{what}…"):
        for _ in range(int(timeout_s * 2)):
            quiet = quiet + 1 if await consumer_lag(bootstrap, GROUPS) == 0 and await in_flight(conn) == 0 else 0
            if quiet >= 3:
                return
            await asyncio.sleep(0.5)
    raise SystemExit(f"The pipeline did not settle while {what.lower()}: is every service running? "
                     "(.venv/bin/billing-stack status)")


async def balance_events(bootstrap: str) -> list[dict]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    try:
        parts = [TopicPartition(BALANCE_EVENTS.name, p) for p in range(BALANCE_EVENTS.partitions)]
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        ends = await reader.end_offsets(parts)
        events: dict[str, tuple[int, dict]] = {}
        while any([await reader.position(tp) < ends[tp] for tp in parts]):
            for records in (await reader.getmany(timeout_ms=500)).values():
                for r in records:
                    event = json.loads(r.value)
                    if _owner(event) in OWNERS:
                        events.setdefault(event["event_id"], (r.offset, event))
        # One balance's events share a partition: its offsets are the order they happened in.
        return [e for _, e in sorted(events.values(), key=lambda oe: (_owner(oe[1]), oe[0]))]
    finally:
        await reader.stop()


def _owner(event: dict) -> str:
    return event["balance"].get("partner_id") or event["balance"].get("channel_id")


async def play(kafka: KafkaSettings, db: DatabaseSettings) -> int:
    conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value())
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        traffic = month.traffic()
        console.rule("[bold]October 2026, played through the running system")
        console.print(f"Directory: 2 partners, 4 clients, 8 channels · rate cards EUR and USD · "
                      f"{len(month.PAYMENTS)} payments and refunds · "
                      f"{len(traffic.statuses) + len(traffic.after):,} statuses of "
                      f"{traffic.messages:,} billable messages (plus free and failed ones), every tenth twice")
        await publish(producer, RATECARDS.name, "currency", month.cards())
        await publish(producer, DIRECTORY.name, "partner_id", month.DIRECTORY)
        await settle(kafka.bootstrap_servers, conn, "Loading the directory and rate cards")
        await publish(producer, PAYMENTS.name, "account", month.PAYMENTS)
        await publish(producer, MESSAGE_STATUS.name, "channel_id", traffic.statuses)
        await settle(kafka.bootstrap_servers, conn, "Charging the statuses")
        await publish(producer, MESSAGE_STATUS.name, "channel_id", traffic.after)
        await settle(kafka.bootstrap_servers, conn, "Charging Carla's utility messages, past the portfolio's first band")
        await publish(producer, DIRECTORY.name, "partner_id", [month.LATE_CHANNEL])
        await settle(kafka.bootstrap_servers, conn, "Announcing globexCH0010, whose statuses were held")
        requests = [e for e in await balance_events(kafka.bootstrap_servers) if e["type"] == "topup.requested"]
        await publish(producer, PAYMENTS.name, "account", [month.topup_answer(e) for e in requests])
        await settle(kafka.bootstrap_servers, conn, "Answering the top-up requests")
        await publish(producer, COMMANDS.name, "month",
                      [{"type": "month.close", "command_id": "close-2026-10", "month": month.MONTH}])
        with console.status("Closing October 2026…"):
            for _ in range(600):
                if await conn.fetchval("SELECT state FROM invoicing.closes WHERE month = $1", month.MONTH) == "done":
                    break
                await asyncio.sleep(0.5)
        await settle(kafka.bootstrap_servers, conn, "Publishing the invoices")
        await correct(producer, conn)
        await settle(kafka.bootstrap_servers, conn, "Issuing the credit notes")
        await show_balances(conn)
        await show_2026(conn)
        show_events(await balance_events(kafka.bootstrap_servers))
        await show_invoices(conn)
        console.rule("[bold]Reconciliation")
        checks = await reconcile(db, settle_s=10, kafka=kafka)
        for c in checks:
            console.print(f"{'[green]ok[/]  ' if c.ok else '[red]FAIL[/]'} {c.name}")
            for p in c.problems[:10]:
                console.print(f"       {p}")
        await publish_result(checks, kafka)  # for the portal's finance view
        await settle(kafka.bootstrap_servers, conn, "Bringing the portal up to date")
        show_portal_links()
        return 0 if all(c.ok for c in checks) else 1
    finally:
        await producer.stop()
        await conn.close()


async def correct(producer: AIOKafkaProducer, conn: asyncpg.Connection) -> None:
    """The corrections of the month's story, as `invoice.credit` commands keyed by the invoice's period."""
    for c in month.CORRECTIONS:
        invoice = json.loads(await conn.fetchval(
            "SELECT invoice::text FROM invoicing.invoices WHERE kind = $1 AND recipient_id = $2 AND period = $3",
            c.kind, c.recipient, c.period))
        command = month.credit_command(c, invoice)
        await (await producer.send(COMMANDS.name, json.dumps(command).encode(), key=c.period.encode()))


async def show_balances(conn: asyncpg.Connection) -> None:
    console.rule("[bold]Balances")
    table = Table("balance", "model", "currency", "paid in", "credited", "refunded", "usage", "messages", "balance")
    for r in await conn.fetch(
            """SELECT b.owner_id, b.billing_model, b.currency, b.amount,
                      coalesce(sum(l.amount) FILTER (WHERE l.kind = 'payment'), 0) AS paid,
                      coalesce(sum(l.amount) FILTER (WHERE l.kind = 'credit'), 0) AS credited,
                      coalesce(-sum(l.amount) FILTER (WHERE l.kind = 'refund'), 0) AS refunded,
                      coalesce(-sum(l.amount) FILTER (WHERE l.kind = 'usage'), 0) AS usage,
                      count(*) FILTER (WHERE l.kind = 'usage') AS messages
               FROM balance.balances b LEFT JOIN balance.ledger l USING (owner_id)
               WHERE b.owner_id = ANY($1) GROUP BY b.owner_id ORDER BY b.owner_id""", list(OWNERS)):
        table.add_row(r["owner_id"], r["billing_model"], r["currency"], f"{r['paid']:.2f}",
                      f"{r['credited']:.2f}", f"{r['refunded']:.2f}", f"{r['usage'].normalize():f}",
                      str(r["messages"]), f"[bold]{r['amount'].normalize():f}[/]")
    console.print(table)


async def show_2026(conn: asyncpg.Connection) -> None:
    console.rule("[bold]Meta's 2026 traffic: voice, a group, a charged service message, volume tiers")
    table = Table("message (a group participant: the status id and a keyed hash)", "what", "to", "outcome",
                  "charged")
    kinds = {month.VOICE: "voice message, sent then played", month.GROUP: "group marketing, one participant",
             month.SERVICE: "service, outside the free tier"}
    for r in await conn.fetch(
            """SELECT m.message_id, m.country, m.outcome, -l.amount AS amount FROM usage_ingest.messages m
               LEFT JOIN balance.ledger l ON l.kind = 'usage' AND l.business_id = m.message_id
               WHERE m.message_id = ANY($1) OR m.message_id LIKE $2 ORDER BY m.message_id""",
            [month.VOICE, month.SERVICE], month.GROUP + "/%"):
        table.add_row(r["message_id"], kinds[r["message_id"].split("/")[0]], r["country"], r["outcome"],
                      f"{r['amount'].normalize():f} EUR" if r["amount"] is not None else "")
    console.print(table)
    table = Table("business portfolio", "market", "category", "month", "charged messages")
    for r in await conn.fetch("SELECT * FROM usage_ingest.tier_counts WHERE portfolio_id = $1 "
                              "ORDER BY market, category", month.PORTFOLIO):
        table.add_row(r["portfolio_id"], r["market"], r["category"], r["usage_month"], str(r["charged"]))
    console.print(table)
    console.print("Bob's and Carla's messages count together in their portfolio. The demo's EUR card has small "
                  "volume tiers (Germany utility from 100 and 200 messages, North America authentication from "
                  "25; Meta's bands start at 100,000 and more): Acme's month-closing invoice names the bands.")


def show_events(events: list[dict]) -> None:
    console.rule("[bold]Balance events, per balance in the order they happened")
    table = Table("balance", "event", "balance after", "at (time of the movement)", "details")
    for e in events:
        owner = _owner(e)
        details = (f"threshold {e['threshold']}" if e["type"] == "balance.low" else
                   f"{e['amount']} requested ({e['request_id'][:15]}…)" if e["type"] == "topup.requested" else
                   "pause " + ", ".join(e["channel_ids"]) if e["type"] == "balance.depleted" else
                   "resume " + ", ".join(e["channel_ids"]))
        table.add_row(owner, e["type"], f"{e['balance_amount']} {e['currency']}", e["at"], details)
    console.print(table)


async def show_invoices(conn: asyncpg.Connection) -> None:
    console.rule("[bold]Invoices and credit notes, per recipient")
    rows = await conn.fetch("SELECT invoice::text FROM invoicing.invoices WHERE partner_id IN ('acmePA', 'globexPA') "
                            "ORDER BY recipient_id, issued_at, number")
    invoices = [Invoice.model_validate_json(r["invoice"]) for r in rows]
    for recipient in sorted({i.recipient.id for i in invoices}):
        mine = [i for i in invoices if i.recipient.id == recipient]
        notes = sum(1 for i in mine if i.kind == "credit_note")
        console.print(f"\n[bold]{mine[0].recipient.name}[/] ({mine[0].recipient.type} {recipient}): "
                      f"{len(mine) - notes} invoices" + (f", {notes} credit note(s)" if notes else ""))
        for invoice in mine:
            console.print(text(invoice), highlight=False, markup=False, soft_wrap=True)


PORTAL_PRINCIPALS = [Principal("partner", "acmePA"), Principal("partner", "globexPA"),
                     *(Principal("client", c) for c in ("bobCL", "carlaCL", "initechCL", "umbrellaCL")),
                     Principal("finance")]


def show_portal_links() -> None:
    """A sign-in link for each demo partner and client and for finance (valid for 15 minutes; make new
    ones with `billing portal link`)."""
    console.rule("[bold]The portal: open a link to sign in")
    for principal in PORTAL_PRINCIPALS:
        console.print(f"{principal.label:>20}  {link_for(principal)}", highlight=False, soft_wrap=True)


def main() -> None:
    sys.exit(asyncio.run(play(KafkaSettings(), DatabaseSettings())))


main()
