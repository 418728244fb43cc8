"""Every `billing` subcommand against the real stack and the three services, values exact."""

import asyncio
import csv
import json
import shutil
import time

from typer.testing import CliRunner

from deploy.stack import postgres
from deploy.stack.settings import StackSettings
from ops.cli import app
from ops.cli.invoices import CSV_COLUMNS
from shared.months import next_month
from shared.topics import MESSAGE_STATUS, PAYMENTS, topic_partitions
from tests.builders import EUR_CARD, pricing, status

from .conftest import free_port
from .kafka_io import committed_offsets, publish
from .pipeline import SERVICES, a_long_month_after_every_close, groups_of, service
from .processes import ServiceProcess
from .stack import test_stack_settings as local_stack_settings

def start_services(stack, unique, tmp_path) -> list[ServiceProcess]:
    """The three services in consumer groups of their own; payments for unknown accounts held 1 s."""
    started = [service(stack, unique, name, tmp_path, **({"HOLD_S": "1"} if name == "balance" else {})).spawn()
               for name in SERVICES]
    return [s.wait_ready() for s in started]


class Billing:
    """`billing ...` in this process, pointed at the test's broker and database."""

    def __init__(self, stack) -> None:
        self.env = {"BILLING_KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap, "BILLING_DB_HOST": stack.db.host,
                    "BILLING_DB_PORT": str(stack.db.port), "BILLING_DB_NAME": stack.db.name,
                    "BILLING_DB_USER": stack.db.user,
                    "BILLING_DB_PASSWORD": stack.db.password.get_secret_value()}

    def __call__(self, *args: str, code: int | None = 0, **env: str):
        result = CliRunner().invoke(app, list(args), env={**self.env, **env})
        assert code is None or result.exit_code == code, \
            f"billing {' '.join(args)}: {result.output}{result.exception!r}"
        return result

    def json(self, *args: str, code: int | None = 0, **env: str):
        return json.loads(self(*args, "--json", code=code, **env).stdout)

    def until(self, check, *args: str, timeout_s: float = 60.0):
        """Run a --json command until `check` holds for its output; return that output."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = CliRunner().invoke(app, [*args, "--json"], env=self.env)
            got = json.loads(result.stdout) if result.exit_code == 0 else None
            if got is not None and check(got):
                return got
            assert time.monotonic() < deadline, f"billing {' '.join(args)} never satisfied: {result.output}"
            time.sleep(0.3)


def meta_csv(M: str) -> str:
    rows = ["Market,Category,Rate,Currency,Effective Date"]
    rows += [f"{r['market']},{r['category'].title()},{r['rate']},EUR,{M}-01" for r in EUR_CARD["rates"]]
    return "\n".join(rows) + "\n"


def test_an_operator_runs_a_month_with_the_billing_command(own_database, unique, tmp_path):
    """Rate card, directory, payments and a refund, a dead letter replayed twice after its fix, a close,
    invoices listed, shown and exported, an invoice credited, the reconciliation: every value exact."""
    stack = own_database
    billing = Billing(stack)
    M = asyncio.run(a_long_month_after_every_close(stack))
    N = next_month(M)
    P, C, A, B = f"{unique}PA", f"{unique}CL", f"{unique}CHa", f"{unique}CHb"
    R, RC, X = f"{unique}dPA", f"{unique}dCL", f"{unique}CHx"
    services = start_services(stack, unique, tmp_path)
    try:
        # Prices: Meta's CSV layout, the same rates every integration test uses.
        (tmp_path / "meta.csv").write_text(meta_csv(M))
        [card] = billing.json("ratecards", "import", str(tmp_path / "meta.csv"), "--market", "DE=Germany",
                              "--market", "AT=Rest of Western Europe", "--id", f"cli-{unique}-EUR")
        assert card["card"]["rates"] == EUR_CARD["rates"] and card["card"]["effective_from"] == f"{M}-01"
        billing.until(lambda cards: f"cli-{unique}-EUR" in [c["ratecard_id"] for c in cards], "ratecards", "list")

        # The directory: a Partner-Paid partner with a client and two channels.
        billing("directory", "partner", P, "--name", "Acme CLI GmbH", "--model", "partner_paid", "--currency",
                "EUR", "--plan", "growth", "--country", "DE", "--vat-id", "DE123456789", "--created-at", f"{M}-01",
                "--renewal-threshold", "95.00", "--renewal-amount", "50.00")
        billing("directory", "client", C, "--partner", P, "--name", "Bob's Bikes", "--country", "AT")
        billing("directory", "channel", A, "--client", C, "--partner", P, "--license", "regular", "--starts",
                f"{M}-01")
        billing("directory", "channel", B, "--client", C, "--partner", P, "--license", "premium", "--starts",
                f"{M}-10T09:30:00Z")
        billing.until(lambda b: b["balance"]["amount"] == "0.00", "money", "balance", P)

        # Money: a card payment, a refund, three messages of 0.1131.
        billing("money", "payment", "100.00", "--partner", P, "--id", f"{unique}-pay1", "--method", "card",
                "--at", f"{M}-02T08:00:00Z")
        billing("money", "refund", "10.00", "--partner", P, "--id", f"{unique}-ref1", "--at", f"{M}-28T08:00:00Z")
        asyncio.run(publish(stack.bootstrap, MESSAGE_STATUS.name, [
            (A.encode(), json.dumps(status(f"wamid.{unique}.{i}", A, "delivered", f"{M}-1{i}T10:00:00Z",
                                           price=pricing())).encode()) for i in range(3)]))
        shown = billing.until(lambda b: b["balance"]["amount"] == "89.6607", "money", "balance", P)
        assert sorted((e["kind"], e["amount"]) for e in shown["entries"]) == [
            ("payment", "100.00"), ("refund", "-10.00"), ("usage", "-0.1131"), ("usage", "-0.1131"),
            ("usage", "-0.1131")]
        assert billing.json("money", "low", "--partner", P) == [
            {"owner_id": P, "partner_id": P, "state": "low", "amount": "89.6607", "threshold": "95.00",
             "currency": "EUR"}]

        # A payment for a channel nobody announced yet: held, then dead-lettered as unknown_account.
        billing("money", "payment", "5.00", "--channel", X, "--currency", "EUR", "--id", f"{unique}-payx",
                "--at", f"{M}-03T08:00:00Z")
        [letter] = billing.until(lambda rows: len(rows) == 1, "deadletters", "list", "--topic", PAYMENTS.name,
                                 "--code", "unknown_account", "--key", X)
        full = billing.json("deadletters", "show", PAYMENTS.dlq, str(letter["dlq_offset"]))
        assert json.loads(full["payload"])["payment_id"] == f"{unique}-payx" and full["code"] == "unknown_account"

        # The fix: the Hub announces the Direct-Paid partner and the channel; its balance starts depleted.
        billing("directory", "partner", R, "--name", "Globex CLI", "--model", "direct_paid", "--currency", "EUR",
                "--plan", "premium", "--country", "DE", "--created-at", f"{M}-01")
        billing("directory", "client", RC, "--partner", R, "--name", "Initech", "--country", "FR")
        billing("directory", "channel", X, "--client", RC, "--partner", R, "--license", "regular",
                "--starts", f"{M}-01")
        billing.until(lambda b: b["balance"]["amount"] == "0.00", "money", "balance", X)
        assert billing.json("money", "low", "--partner", R) == [
            {"owner_id": X, "partner_id": R, "state": "depleted", "amount": "0.00", "threshold": None,
             "currency": "EUR"}]
        replayed = billing.json("deadletters", "replay", PAYMENTS.name, "--offset", str(letter["dlq_offset"]))
        [first] = replayed["letters"]
        assert (first["from"], first["code"], "skip" in first) == ("source", "unknown_account", False)
        billing.until(lambda b: b["balance"]["amount"] == "5.00", "money", "balance", X)
        [again] = billing.json("deadletters", "replay", PAYMENTS.dlq, "--code", "unknown_account", "--key", X)[
            "letters"]
        _until_committed(stack, groups_of(unique)["balance"], PAYMENTS.name, again["replayed_partition"],
                         again["replayed_offset"] + 1)
        twice = billing.json("money", "balance", X)
        assert twice["balance"]["amount"] == "5.00" and len(twice["entries"]) == 1, "a second replay is harmless"

        # B is cancelled on the 20th: billed through the end of M, not in N (the close waits for the directory).
        billing("directory", "cancel", B, "--at", f"{M}-20T12:00:00Z")
        closed = billing.json("invoices", "close", M, "--force")
        assert closed["state"] == "done" and closed["invoices"] >= 3

        mine = billing.json("invoices", "list", "--recipient", P)
        totals = sorted((i["kind"], i["period"], i["subtotal"], i["tax"]["amount"], i["total"]) for i in mine)
        assert totals == [("month_closing", M, "4.00", "0.76", "4.76"), ("prepayment", M, "100.00", "19.00", "119.00"),
                          ("subscription", N, "1084.77", "206.11", "1290.88")]
        assert [i["kind"] for i in billing.json("invoices", "list", "--recipient", P, "--month", N)] == ["subscription"]
        closing = next(i for i in mine if i["kind"] == "month_closing")
        assert closing["summary"] == {"starting_balance": "0.00", "added_funds": "100.00", "credits": "0.00",
                                      "usage": "0.3393", "refunds": "10.00", "ending_balance": "89.6607"}
        page = billing("invoices", "show", closing["number"]).stdout
        assert f"Month closing invoice {closing['number']}" in page and "4.76 EUR" in page
        assert billing.json("invoices", "show", closing["invoice_id"]) == closing

        billing("invoices", "export", M, "--by", "period", "--partner", P, "-o", str(tmp_path / "m.csv"))
        with open(tmp_path / "m.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert tuple(rows[0]) == CSV_COLUMNS
        assert [(r["kind"], r["line_no"], r["line_code"], r["category"], r["quantity"], r["unit_price"],
                 r["line_amount"], r["tax_rate"], r["invoice_total"]) for r in rows] == [
            ("prepayment", "1", "prepayment", "", "1", "100.00", "100.00", "0.19", "119.00"),
            ("month_closing", "1", "usage", "marketing", "3", "0.1131", "0.34", "0.19", "4.76"),
            ("month_closing", "2", "settled_with_credit_balance", "", "1", "-0.34", "-0.34", "0.19", "4.76"),
            ("month_closing", "3", "transaction_fee", "", "1", "4.00", "4.00", "0.19", "4.76")]

        # A correction: 100.00 off the plan for N, paid out by accounting; asked twice, issued once.
        subscription = next(i for i in mine if i["kind"] == "subscription")
        ask = ("invoices", "credit", subscription["number"], "--line", "1", "--amount", "100.00", "--reason",
               "plan discount", "--settle", "payable")
        note = billing.json(*ask)["credit_note"]
        assert (note["number"][:3], note["corrects"]["number"], note["lines"][0]["description"], note["subtotal"],
                note["tax"]["amount"], note["total"]) == ("CN-", subscription["number"],
                                                          f"Partner plan Growth, {N}", "100.00", "19.00", "119.00")
        assert billing.json(*ask)["credit_note"] == note, "the same correction asked twice is one credit note"
        over = billing(*ask[:6], "400.01", *ask[7:], code=2)
        assert f"--amount of --line 1: 400.01 is more than the 400.00 left to credit on line 1 of " \
               f"{subscription['number']}" in over.output
        assert f"Credit note {note['number']}" in billing("invoices", "show", note["number"]).stdout

        checks = billing.json("reconcile", "--settle", "5", code=None)
    finally:
        codes = [service.terminate() for service in services]
    assert codes == [0, 0, 0]
    # As in test_invoicing: a fresh database replays priced usage other tests sent past usage ingest.
    assert [(c["check"], p) for c in checks for p in c["problems"]
            if c["check"] != "every charged message is debited exactly once" or unique in p] == []


def _until_committed(stack, group: str, topic: str, partition: int, target: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while asyncio.run(committed_offsets(stack.bootstrap, group)).get((topic, partition), -1) < target:
        assert time.monotonic() < deadline, f"{group} did not consume {topic}:{partition} up to {target}"
        time.sleep(0.3)


def test_the_stack_group_reports_the_running_stack_and_names_a_taken_port(stack, tmp_path):
    """status names what runs (the test stack's Kafka and PostgreSQL; no service), start on a taken port
    says which setting moves it, stop in an empty folder stops nothing."""
    billing = Billing(stack)
    services_down = {f"{prefix}HTTP_PORT": str(free_port()) for prefix in (*SERVICES.values(), "BILLING_PORTAL_")}
    local = local_stack_settings()
    kafka_port, pg_port = stack.bootstrap.rsplit(":", 1)[1], str(stack.db.port)
    state = billing.json("stack", "status", code=1, BILLING_STACK_DIR=str(local.dir),
                         BILLING_STACK_KAFKA_PORT=kafka_port, BILLING_STACK_PG_PORT=pg_port, **services_down)
    if stack.bootstrap == local.kafka_bootstrap:  # the local stack, not testcontainers
        assert {s["part"]: s["healthy"] for s in state} == {"kafka": True, "postgres": True,
                                                              "usage-ingest": False, "balance": False,
                                                              "invoicing": False, "portal": False}
    elsewhere = {"BILLING_STACK_DIR": str(tmp_path / "stack"), "BILLING_STACK_KAFKA_PORT": kafka_port,
                 "BILLING_STACK_KAFKA_CONTROLLER_PORT": str(free_port()), "BILLING_STACK_PG_PORT": str(free_port())}
    started = billing("stack", "start", "--no-services", code=1, **elsewhere)
    assert f"Port {kafka_port} is taken" in started.output and "BILLING_STACK_KAFKA_PORT" in started.output
    assert billing("stack", "stop", **elsewhere).output == ""
    assert all(not s["healthy"] for s in billing.json("stack", "status", code=1, **elsewhere, **services_down))


def test_the_stack_group_starts_a_stack_of_its_own_reports_it_and_stops_it(stack, tmp_path):
    """start (without the services) brings Kafka, PostgreSQL and the topics up in a folder and on ports of its
    own, status says so, stop leaves nothing running; the shared test stack is not touched."""
    billing = Billing(stack)
    env = {"BILLING_STACK_DIR": str(tmp_path / "own"), "BILLING_STACK_KAFKA_PORT": str(free_port()),
           "BILLING_STACK_KAFKA_CONTROLLER_PORT": str(free_port()), "BILLING_STACK_PG_PORT": str(free_port()),
           "BILLING_STACK_KAFKA_HEAP": "256m", **{f"{prefix}HTTP_PORT": str(free_port())
                                                   for prefix in (*SERVICES.values(), "BILLING_PORTAL_")}}
    try:
        started = billing("stack", "start", "--no-services", **env)
        assert f"{len(topic_partitions())} topics created" in started.output  # every topic and DLQ of the code
        state = billing.json("stack", "status", code=1, **env)
        assert [(s["part"], s["healthy"]) for s in state] == [
            ("kafka", True), ("postgres", True), ("usage-ingest", False), ("balance", False), ("invoicing", False),
            ("portal", False)]
    finally:
        stopped = billing("stack", "stop", **env)
        data = StackSettings(dir=tmp_path / "own")
        shutil.rmtree(postgres.data_dir(data).parent, ignore_errors=True)
    assert "stopped Kafka" in stopped.output and "stopped PostgreSQL" in stopped.output
    assert not any(s["healthy"] for s in billing.json("stack", "status", code=1, **env))
