"""Both billing models end to end through Kafka: every invoice compared, field by field, with
expectations computed by hand and written here."""

import asyncio
import json

from ops.reconcile import reconcile
from shared.months import next_month
from shared.contracts import Invoice
from shared.settings import KafkaSettings
from shared.topics import COMMANDS, DIRECTORY, INVOICES, MESSAGE_STATUS, PAYMENTS, RATECARDS
from tests.builders import DE_NUMBER, EUR_CARD, USD_CARD, channel, client, partner, pricing, status

from .kafka_io import collect, publish, read_to_end
from .pipeline import (SERVICES, a_long_month_after_every_close, connect, numbers_have_no_gap,
                       start_services, until_close_state)

def line(code, description, amount, unit_price=None, quantity="1", **extra):
    return {"code": code, "description": description, "quantity": quantity,
            "unit_price": unit_price or amount, "amount": amount, **extra}


def scenario(unique: str, M: str) -> dict:
    """Two partners, one of each model; channels starting on the 1st, the 5th and the 10th; two card
    payments; six messages."""
    p1, p2 = f"{unique}ppPA", f"{unique}dpPA"
    c1, c2 = f"{unique}ppCL", f"{unique}dpCL"
    a, b, d = f"{unique}CHa", f"{unique}CHb", f"{unique}CHd"
    directory = [
        (p1, partner(p1, "partner_paid", "EUR", created_at=f"{M}-01T00:00:00Z",
                     billing_address={"country": "DE", "vat_id": "DE123456789"})),
        (p1, client(c1, p1)),
        (p1, channel(a, c1, p1, f"{M}-01T00:00:00Z", "regular")),
        (p1, channel(b, c1, p1, f"{M}-10T09:30:00Z", "premium")),
        (p2, {**partner(p2, "direct_paid", "USD", created_at=f"{M}-15T00:00:00Z",
                        billing_address={"country": "US", "vat_id": None}), "plan": "premium"}),
        (p2, {**client(c2, p2), "billing_address": {"country": "FR", "vat_id": None}}),
        (p2, channel(d, c2, p2, f"{M}-05T12:00:00Z", "regular")),
    ]
    payments = [
        (p1, {"type": "payment.succeeded", "payment_id": f"{unique}-pay1", "account": {"partner_id": p1},
              "amount": "100.00", "currency": "EUR", "method": "card", "paid_at": f"{M}-02T08:00:00Z"}),
        (d, {"type": "payment.succeeded", "payment_id": f"{unique}-pay2", "account": {"channel_id": d},
             "amount": "50.00", "currency": "USD", "method": "card", "paid_at": f"{M}-06T08:00:00Z"}),
    ]
    statuses = [status(f"wamid.{unique}.a{i}", a, "delivered", f"{M}-1{i}T10:00:00Z", price=pricing())
                for i in range(3)]
    statuses += [status(f"wamid.{unique}.b", b, "delivered", f"{M}-20T10:00:00Z", price=pricing("utility"))]
    statuses += [status(f"wamid.{unique}.d{i}", d, "delivered", f"{M}-2{i}T10:00:00Z", price=pricing())
                 for i in range(2)]
    return {"directory": directory, "payments": payments, "statuses": statuses}


async def play(stack, s: dict, M: str, unique: str) -> None:
    """Publish the scenario, in the order a real month would bring it, then the month's close."""
    await publish(stack.bootstrap, RATECARDS.name, [(b"EUR", json.dumps(EUR_CARD).encode()),
                                                    (b"USD", json.dumps(USD_CARD).encode())])
    await publish(stack.bootstrap, DIRECTORY.name,
                  [(k.encode(), json.dumps(v).encode()) for k, v in s["directory"]])
    await _until_balance_exists(stack, f"{unique}CHd")
    await publish(stack.bootstrap, PAYMENTS.name, [(k.encode(), json.dumps(v).encode()) for k, v in s["payments"]])
    await publish(stack.bootstrap, MESSAGE_STATUS.name,
                  [(st["channel_id"].encode(), json.dumps(st).encode()) for st in s["statuses"]])
    close = {"type": "month.close", "command_id": f"close-{unique}", "month": M}
    await publish(stack.bootstrap, COMMANDS.name, [(M.encode(), json.dumps(close).encode())])


async def invoices_of(stack, partners: tuple[str, ...], count: int, timeout_s: float = 90) -> list:
    return await collect(stack.bootstrap, INVOICES.name, lambda r: json.loads(r.value)["partner_id"] in partners,
                         count, timeout_s=timeout_s, identity=lambda r: json.loads(r.value)["invoice_id"])


async def test_both_billing_models_issue_exactly_the_invoices_of_the_contract(own_database, unique, tmp_path):
    """Prepayments, a Direct-Paid license on channel.added, then closing the month: subscription and
    month closing to the Partner-Paid partner; partner plan to the Direct-Paid partner; license and
    month closing per channel to its client. A second close issues nothing; numbers have no gap."""
    stack = own_database
    M = await a_long_month_after_every_close(stack)
    N = next_month(M)
    p1, p2 = f"{unique}ppPA", f"{unique}dpPA"
    c1, c2 = f"{unique}ppCL", f"{unique}dpCL"
    a, b, d = f"{unique}CHa", f"{unique}CHb", f"{unique}CHd"
    s = scenario(unique, M)
    services = start_services(stack, unique, tmp_path)
    try:
        await play(stack, s, M, unique)
        records = await invoices_of(stack, (p1, p2), 8)
        close = {"type": "month.close", "command_id": f"again-{unique}", "month": M}
        await publish(stack.bootstrap, COMMANDS.name, [(M.encode(), json.dumps(close).encode())])
        await asyncio.sleep(3)
        again = await read_to_end(stack.bootstrap, INVOICES.name,
                                  lambda r: json.loads(r.value)["partner_id"] in (p1, p2))
        checks = await reconcile(stack.db, settle_s=60, kafka=KafkaSettings(bootstrap_servers=stack.bootstrap))
    finally:
        codes = [service.terminate() for service in services]
    assert codes == [0, 0, 0]
    # The balance tests publish priced usage straight to the ledger, bypassing usage ingest; this fresh
    # database replays them, so only this test's own messages can be judged by the second check.
    problems = [(c.name, p) for c in checks for p in c.problems
                if c.name != "every charged message is debited exactly once" or unique in p]
    assert problems == [], "the reconciliation passes"
    invoices = {(i.kind, i.recipient.id): i for i in (Invoice.model_validate_json(r.value) for r in records)}
    assert len({r.value for r in again}) == len(records) == 8, "closing again issued nothing new"

    def check(kind, recipient, period, lines, subtotal, tax, total, summary=None, **top):
        inv = invoices[(kind, recipient)]
        got = json.loads(inv.model_dump_json())
        assert got["period"] == period
        assert [{k: v for k, v in ln.items() if v is not None} for ln in got["lines"]] == [
            {k: v for k, v in ln.items() if v is not None} for ln in lines]
        assert (got["subtotal"], got["tax"], got["total"]) == (subtotal, tax, total)
        assert got["summary"] == summary
        for key, value in top.items():
            assert got[key] == value, key
        assert inv.currency == ("EUR" if inv.partner_id == p1 else "USD")

    std = lambda amount: {"treatment": "standard", "rate": "0.19", "amount": amount}  # noqa: E731
    out = {"treatment": "outside_scope", "rate": "0", "amount": "0.00"}
    check("license_prorated", c2, M, [line("license_prorated", f"License regular, {d}, {M} (27 of 31 days)",
                                           "21.77", service_month=M, client_id=c2, channel_id=d)],
          "21.77", std("4.14"), "25.91", client_id=c2, channel_id=d, billing_model="direct_paid")
    check("prepayment", p1, M, [line("prepayment", f"Prepayment of the credit balance (card, {unique}-pay1)",
                                     "100.00", service_month=M)], "100.00", std("19.00"), "119.00")
    check("prepayment", c2, M, [line("prepayment", f"Prepayment of the credit balance (card, {unique}-pay2)",
                                     "50.00", service_month=M, client_id=c2, channel_id=d)],
          "50.00", std("9.50"), "59.50", channel_id=d)
    check("subscription", p1, N, [
        line("partner_plan_prorated", f"Partner plan Growth, {M} (31 of 31 days)", "500.00", service_month=M),
        line("partner_plan", f"Partner plan Growth, {N}", "500.00", service_month=N),
        line("license_prorated", f"License regular, {a}, {M} (31 of 31 days)", "25.00", service_month=M,
             client_id=c1, channel_id=a),
        line("license", f"License regular, {a}, {N}", "25.00", service_month=N, client_id=c1, channel_id=a),
        line("license_prorated", f"License premium, {b}, {M} (22 of 31 days)", "34.77", service_month=M,
             client_id=c1, channel_id=b),
        line("license", f"License premium, {b}, {N}", "49.00", service_month=N, client_id=c1, channel_id=b),
    ], "1133.77", std("215.42"), "1349.19", client_id=None, channel_id=None)
    check("month_closing", p1, M, [
        line("usage", f"Usage marketing, {a}, {M}: 3 messages", "0.34", "0.1131", "3", service_month=M,
             client_id=c1, channel_id=a, category="marketing"),
        line("usage", f"Usage utility, {b}, {M}: 1 message", "0.05", "0.0456", service_month=M,
             client_id=c1, channel_id=b, category="utility"),
        line("settled_with_credit_balance", f"Settled with the credit balance, {M}", "-0.39", service_month=M),
        line("transaction_fee", f"Card transaction fee, 4 % of {unique}-pay1 (100.00)", "4.00", service_month=M),
    ], "4.00", std("0.76"), "4.76", {"starting_balance": "0.00", "added_funds": "100.00", "credits": "0.00",
                                     "usage": "0.3849", "refunds": "0.00", "ending_balance": "99.6151"})
    check("partner_plan", p2, N, [
        line("partner_plan_prorated", f"Partner plan Premium, {M} (17 of 31 days)", "548.39", service_month=M),
        line("partner_plan", f"Partner plan Premium, {N}", "1000.00", service_month=N),
    ], "1548.39", out, "1548.39", billing_model="direct_paid")
    check("license", c2, N, [line("license", f"License regular, {d}, {N}", "25.00", service_month=N,
                                  client_id=c2, channel_id=d)], "25.00", std("4.75"), "29.75", channel_id=d)
    check("month_closing", c2, M, [
        line("usage", f"Usage marketing, {d}, {M}: 2 messages", "0.27", "0.1365", "2", service_month=M,
             client_id=c2, channel_id=d, category="marketing"),
        line("settled_with_credit_balance", f"Settled with the credit balance, {M}", "-0.27", service_month=M),
        line("transaction_fee", f"Card transaction fee, 4 % of {unique}-pay2 (50.00)", "2.00", service_month=M),
    ], "2.00", std("0.38"), "2.38", {"starting_balance": "0.00", "added_funds": "50.00", "credits": "0.00",
                                     "usage": "0.273", "refunds": "0.00", "ending_balance": "49.727"})
    await numbers_have_no_gap(stack)
    _follow_one_message_through_the_logs(tmp_path, f"wamid.{unique}.a0", p1, M,
                                         invoices[("month_closing", p1)].number)


def _follow_one_message_through_the_logs(folder, message_id: str, balance_id: str, month: str,
                                         number: str) -> None:
    """The wamid leads to its pricing and its debit, which name the balance; the balance and the month
    lead to the balance's closing and to its month-closing invoice's number. No phone number is logged."""
    def lines(name: str) -> list[dict]:
        out = []
        for raw in (folder / f"{name}.log").read_text().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                pass
        return out

    def where(name: str, event: str, **fields) -> list[dict]:
        return [e for e in lines(name) if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())]

    def carrying(name: str, event: str) -> set[str]:
        return {e["balance_id"] for e in where(name, event) if message_id in e.get("message_ids", ())}

    assert carrying("usage_ingest", "usage priced") == {balance_id}
    assert carrying("balance", "usage debited") == {balance_id}
    assert where("balance", "balance closed", balance_id=balance_id, month=month)
    issued = where("invoicing", "invoice issued", balance_id=balance_id, kind="month_closing")
    assert [(e["period"], e["invoice_number"]) for e in issued] == [(month, number)]
    assert all(DE_NUMBER not in (folder / f"{name}.log").read_text() for name in SERVICES)


async def _until_balance_exists(stack, owner: str) -> None:
    conn = await connect(stack)
    try:
        for _ in range(300):
            if await conn.fetchval("SELECT true FROM balance.balances WHERE owner_id = $1", owner):
                return
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_invoicing_killed_during_a_close_issues_the_same_invoices_after_a_restart(own_database, unique,
                                                                                       tmp_path):
    """SIGKILL of invoicing while the month closes: after a restart, the eight invoices, each under one
    number (copies published twice are identical), and numbers without a gap."""
    stack = own_database
    M = await a_long_month_after_every_close(stack)
    p1, p2 = f"{unique}ppPA", f"{unique}dpPA"
    services = start_services(stack, unique, tmp_path)
    invoicing = services[-1]
    try:
        await play(stack, scenario(unique, M), M, unique)
        await until_close_state(stack, M, ("debits", "ledger", "done"))
        invoicing.proc.kill()
        invoicing.proc.wait()
        services[-1] = invoicing.start()
        records = await invoices_of(stack, (p1, p2), 8)
    finally:
        codes = [service.terminate() for service in services]
    assert codes == [0, 0, 0]
    copies: dict[str, set[bytes]] = {}
    for r in records:
        copies.setdefault(json.loads(r.value)["invoice_id"], set()).add(r.value)
    assert len(copies) == 8 and all(len(values) == 1 for values in copies.values())
    kinds = sorted(json.loads(next(iter(v)))["kind"] for v in copies.values())
    assert kinds == ["license", "license_prorated", "month_closing", "month_closing", "partner_plan",
                     "prepayment", "prepayment", "subscription"]
    await numbers_have_no_gap(stack)
