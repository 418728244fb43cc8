"""A credit note end to end through Kafka, with invoicing killed between recording it and publishing it.

A Partner-Paid partner's month is closed; its subscription's license line is
then credited to the balance. Publishing to `billing.invoices.v1` is held
back (the topic is set to take records of at most 64 bytes, so the broker
refuses the credit note) until invoicing has recorded the credit note, and
invoicing is SIGKILLed right there. Restarted, with the command
delivered twice more, it publishes the one credit note; the balance is
credited once and restored above zero; the next month's closing shows the
credit. Every amount is worked out by hand.
"""

import json
from decimal import Decimal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ops.reconcile import reconcile
from services.invoicing.domain.credit_notes import credit_note_id
from shared.months import next_month
from shared.topics import BALANCE_EVENTS, COMMANDS, DIRECTORY, INVOICES, MESSAGE_STATUS, RATECARDS
from tests.builders import EUR_CARD, channel, client, partner, pricing, status

from ..kafka_io import collect, publish, read_to_end
from ..pipeline import a_long_month_after_every_close, connect, numbers_have_no_gap, start_services, \
    until_close_state
from .month import until

STD = {"treatment": "standard", "rate": "0.19"}


def _json(records: list[tuple[str, dict]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), json.dumps(v).encode()) for k, v in records]


async def _close(stack, month: str, command_id: str) -> None:
    await publish(stack.bootstrap, COMMANDS.name, _json([(month, {"type": "month.close", "command_id": command_id,
                                                                  "month": month})]))
    await until_close_state(stack, month, ("done",), timeout_s=120)


async def _invoices_writable(stack, writable: bool) -> None:
    """With `max.message.bytes` at 64 the broker refuses every invoice (MESSAGE_TOO_LARGE, which no retry
    cures), and invoicing's outbox keeps what it could not publish; writable again, the topic has no
    override (the stack sets none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        [response] = await admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, INVOICES.name, configs={} if writable else {"max.message.bytes": "64"})])
        assert [r[0] for r in response.resources] == [0], response
    finally:
        await admin.close()


async def _fetchval(stack, sql: str, *args):
    conn = await connect(stack)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_a_credit_note_is_issued_once_credited_once_and_shown_in_the_next_closing_despite_a_kill(
        faulty, unique, tmp_path):
    """Invoicing killed after recording the credit note and before publishing it, the command sent three
    times: one CN- credit note of 10.00 + 19 % = 11.90, the balance credited once from -0.2262 to 11.6738
    (restored), the next month's closing summary exact, numbers of both series without a gap."""
    stack = faulty
    M = await a_long_month_after_every_close(stack)
    N = next_month(M)
    P, C, A = f"{unique}PA", f"{unique}CL", f"{unique}CH"
    services = start_services(stack, unique, tmp_path)
    invoicing = services[-1]
    try:
        await publish(stack.bootstrap, RATECARDS.name, [(b"EUR", json.dumps(EUR_CARD).encode())])
        await publish(stack.bootstrap, DIRECTORY.name, _json([
            (P, partner(P, "partner_paid", "EUR", created_at=f"{M}-01T00:00:00Z",
                        billing_address={"country": "DE", "vat_id": "DE123456789"})),
            (P, client(C, P)), (P, channel(A, C, P, f"{M}-01T00:00:00Z", "regular"))]))
        await publish(stack.bootstrap, MESSAGE_STATUS.name, _json([
            (A, status(f"wamid.{unique}.{i}", A, "delivered", f"{M}-1{i}T10:00:00Z", price=pricing()))
            for i in range(2)]))
        await _close(stack, M, f"close-{unique}-M")
        mine = lambda r: json.loads(r.value)["partner_id"] == P  # noqa: E731
        issued = {json.loads(r.value)["kind"]: json.loads(r.value) for r in await collect(
            stack.bootstrap, INVOICES.name, mine, 2, timeout_s=60, identity=lambda r: r.value)}
        subscription = issued["subscription"]
        assert [(ln["code"], ln["amount"]) for ln in subscription["lines"]] == [
            ("partner_plan_prorated", "500.00"), ("partner_plan", "500.00"), ("license_prorated", "25.00"),
            ("license", "25.00")]

        credit = {"type": "invoice.credit", "command_id": f"cred-{unique}", "invoice_id": subscription["invoice_id"],
                  "lines": [{"line": 3, "amount": "10.00"}], "reason": "channel down for a week",
                  "settle": "credit_balance"}
        payable = {"type": "invoice.credit", "command_id": f"plan-{unique}", "invoice_id": subscription["invoice_id"],
                   "lines": [{"line": 1, "amount": "500.00"}], "reason": "plan waived", "settle": "payable"}
        note_id = credit_note_id(credit["command_id"])
        await _invoices_writable(stack, False)
        try:
            await publish(stack.bootstrap, COMMANDS.name, _json([(N, credit)]))
            await until(lambda: _fetchval(stack, "SELECT true FROM invoicing.invoices WHERE invoice_id = $1::uuid",
                                          note_id), "invoicing has recorded the credit note")
            assert await _fetchval(stack, "SELECT count(*) FROM invoicing.outbox WHERE topic = $1", INVOICES.name)
            invoicing.kill()
            assert [r for r in await read_to_end(stack.bootstrap, INVOICES.name, mine)
                    if json.loads(r.value)["kind"] == "credit_note"] == [], "killed before publishing it"
        finally:
            await _invoices_writable(stack, True)
        await publish(stack.bootstrap, COMMANDS.name, _json([(N, credit), (N, payable)]))
        services[-1] = invoicing.start()

        notes = [r for r in await collect(stack.bootstrap, INVOICES.name,
                                          lambda r: mine(r) and json.loads(r.value)["kind"] == "credit_note", 2,
                                          timeout_s=60, identity=lambda r: json.loads(r.value)["invoice_id"])]
        await until(lambda: _balance_is(stack, P, Decimal("11.6738")), "balance has booked the credit")
        await _close(stack, N, f"close-{unique}-N")
        closing = next(json.loads(r.value) for r in await collect(
            stack.bootstrap, INVOICES.name,
            lambda r: mine(r) and json.loads(r.value)["kind"] == "month_closing" and json.loads(r.value)["period"] == N,
            1, timeout_s=60))
        events = [json.loads(r.value) for r in await read_to_end(
            stack.bootstrap, BALANCE_EVENTS.name, lambda r: json.loads(r.value)["balance"].get("partner_id") == P)]
        credits_booked = await _fetchval(stack, "SELECT count(*) FROM balance.ledger WHERE kind = 'credit' "
                                                "AND business_id = $1", note_id)
        checks = await reconcile(stack.db, settle_s=60)
    finally:
        codes = [s.terminate() for s in services]
    assert codes == [0, 0, 0]

    assert len(notes) == 2, "one record per credit note: nothing was published twice"
    by_command = {json.loads(r.value)["invoice_id"]: json.loads(r.value) for r in notes}
    note = by_command[note_id]
    assert note["number"].startswith("CN-") and note["kind"] == "credit_note"
    assert (note["corrects"], note["reason"], note["settle"]) == (
        {"invoice_id": subscription["invoice_id"], "number": subscription["number"]}, "channel down for a week",
        "credit_balance")
    assert (note["recipient"], note["period"], note["currency"], note["billing_model"]) == (
        subscription["recipient"], N, "EUR", "partner_paid")
    assert note["lines"] == [{"code": "license", "description": f"License regular, {A}, {N}", "quantity": "1",
                              "unit_price": "10.00", "amount": "10.00", "service_month": N, "client_id": C,
                              "channel_id": A}]
    assert (note["subtotal"], note["tax"], note["total"]) == ("10.00", {**STD, "amount": "1.90"}, "11.90")
    plan = by_command[credit_note_id(payable["command_id"])]
    assert (plan["subtotal"], plan["tax"]["amount"], plan["total"], plan["settle"]) == (
        "500.00", "95.00", "595.00", "payable")
    assert len({n["number"] for n in by_command.values()}) == 2

    assert credits_booked == 1, "credited once, whatever was published twice"
    assert [(e["type"], e["balance_amount"]) for e in events] == [("balance.restored", "11.6738")]
    assert closing["summary"] == {"starting_balance": "-0.2262", "added_funds": "0.00", "credits": "11.90",
                                  "usage": "0.00", "refunds": "0.00", "ending_balance": "11.6738"}
    assert closing["lines"] == [] and closing["total"] == "0.00"
    assert [(c.name, p) for c in checks for p in c.problems] == [], "the reconciliation passes"
    await numbers_have_no_gap(stack)


async def _balance_is(stack, owner: str, amount: Decimal) -> bool:
    return await _fetchval(stack, "SELECT amount FROM balance.balances WHERE owner_id = $1", owner) == amount
