"""Credit notes (CONTRACT.md §3.5 `invoice.credit`, §3.7 `credit_note`) through the invoicing use cases.

The invoices credited are those of the worked months of `test_service.py`
(acmePA's March close, globexPA's), issued by the same use cases; every
credit note is compared field by field with amounts worked out by hand.
"""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.invoicing import credits
from services.invoicing.domain.credit_notes import credit_note_id
from services.invoicing.domain.documents import invoice_id
from shared.contracts import BalanceCredit, ErrorCode, Invoice, decode
from shared.dead_letters import Rejected
from shared.topics import BALANCE_CREDITS, COMMANDS, USAGE_PRICED

from .fakes import StoreFailure
from .test_service import (ACME, ACME_MARCH, ACME_R, BALANCE, GLOBEX_MARCH, GLOBEX_R, HOOLI_R, INITECH_R, OUTSIDE,
                           REVERSE, World, acme, by_kind, entry, globex, ln, std, utc)

__all__ = ["acme", "globex"]  # fixtures of test_service.py, used here

CREDITED_AT = "2026-04-10T09:00:00Z"
HOLD_S = 3600.0


def credit(command_id: str, invoice_id: str, lines: list[tuple[int, str]] | None = None,
           reason: str = "licence billed twice", settle: str = "credit_balance") -> dict[str, Any]:
    body: dict[str, Any] = {"type": "invoice.credit", "command_id": command_id, "invoice_id": invoice_id,
                            "reason": reason, "settle": settle}
    if lines is not None:
        body["lines"] = [{"line": n, "amount": amount} for n, amount in lines]
    return body


async def send(w: World, *bodies: dict[str, Any], now: str = CREDITED_AT, hold_s: float = HOLD_S) -> list[Rejected]:
    """The commands, as one batch of billing.commands.v1."""
    batch = [w.feed.accepted(COMMANDS.name, b.get("month", "2026-04"), b) for b in bodies]
    return await credits.apply_commands(w.uow, w.offsets, batch, utc(now), hold_s)


def notes(w: World) -> list[dict[str, Any]]:
    return [json.loads(i.model_dump_json()) for i in w.issued() if i.kind == "credit_note"]


def balance_credits(w: World) -> list[tuple[bytes | None, BalanceCredit]]:
    return [(r.key, decode(BALANCE_CREDITS.name, r.value)) for r in w.store.outbox if r.topic == BALANCE_CREDITS.name]


def refusals(refused: list[Rejected]) -> list[tuple[ErrorCode, str]]:
    return [(r.code, r.reason) for r in refused]


def credit_note(command_id: str, number: str, corrects: Invoice, recipient: dict[str, Any], lines: list[dict],
                subtotal: str, tax: dict[str, str], total: str, reason: str = "licence billed twice",
                settle: str = "credit_balance") -> dict[str, Any]:
    """A whole credit note as published: the corrected invoice's partner, model, ids, period and currency."""
    return {"invoice_id": credit_note_id(command_id), "number": number, "kind": "credit_note",
            "billing_model": corrects.billing_model, "recipient": recipient, "partner_id": corrects.partner_id,
            "client_id": corrects.client_id, "channel_id": corrects.channel_id, "period": corrects.period,
            "issued_at": CREDITED_AT, "currency": corrects.currency, "lines": lines, "subtotal": subtotal,
            "tax": tax, "total": total, "summary": None,
            "corrects": {"invoice_id": corrects.invoice_id, "number": corrects.number}, "reason": reason,
            "settle": settle}


async def closed_march(w: World, *closings: dict[str, Any]) -> dict[tuple[str, str], Invoice]:
    issued = await w.close("2026-03", *closings)
    return {(i.kind, i.channel_id or i.recipient.id): i for i in issued}


# --- Partner-Paid ----------------------------------------------------------------------------------


async def test_a_credit_of_part_of_a_line_issues_a_cn_credit_note_and_credits_the_partners_balance(acme):
    """10.00 of acmeCH0001's April license on the subscription: CN-2026-000001 repeats the line at 10.00,
    19 % of it as tax (1.90), and the 11.90 goes back to acmePA's shared balance."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    assert await send(acme, credit("cred-1", subscription.invoice_id, [(3, "10.00")])) == []
    assert notes(acme) == [credit_note(
        "cred-1", "CN-2026-000001", subscription, ACME_R,
        [ln("license", "License regular, acmeCH0001, 2026-04", "10.00", service_month="2026-04", client_id="bobCL",
            channel_id="acmeCH0001")], "10.00", std("1.90"), "11.90")]
    [(key, balance_credit)] = balance_credits(acme)
    assert key == b"acmePA"
    assert json.loads(balance_credit.model_dump_json()) == {
        "credit_id": credit_note_id("cred-1"), "number": "CN-2026-000001",
        "corrects_invoice_id": subscription.invoice_id, "balance": {"partner_id": "acmePA"}, "partner_id": "acmePA",
        "client_id": None, "billing_model": "partner_paid", "currency": "EUR", "amount": "11.90",
        "issued_at": CREDITED_AT}
    assert acme.store.outbox[-2].topic == "billing.invoices.v1" and acme.store.outbox[-2].key == b"acmePA"


async def test_credit_notes_have_their_own_gapless_sequence_and_leave_the_invoice_numbers_alone(acme):
    """Two credit notes are CN-2026-000001 and 000002; the next invoice is still INV-2026-000003."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    await send(acme, credit("cred-1", subscription.invoice_id, [(1, "100.00")]),
               credit("cred-2", subscription.invoice_id, [(1, "100.00")]))
    [prepayment] = await acme.entries(entry("pay_9", "acmePA", "10.00", at="2026-04-11T08:00:00Z"))
    assert [n["number"] for n in notes(acme)] == ["CN-2026-000001", "CN-2026-000002"]
    assert prepayment.number == "INV-2026-000003"
    assert (acme.store.invoice_numbers, acme.store.credit_note_numbers) == ({2026: 3}, {2026: 2})


async def test_the_same_command_twice_issues_one_credit_note_and_one_balance_credit(acme):
    """cred-1 in one batch twice, then again: one credit note, one credit, no refusal, no number used up."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    body = credit("cred-1", subscription.invoice_id, [(3, "25.00")])
    assert await send(acme, body, body) == [] and await send(acme, body) == []
    assert [n["number"] for n in notes(acme)] == ["CN-2026-000001"] and len(balance_credits(acme)) == 1
    assert acme.store.credit_note_numbers == {2026: 1}


async def test_without_lines_every_line_is_credited_in_full_but_the_settlement_line(acme):
    """The March month closing in full: both usage lines (untaxed) and the card fee (taxed); the negative
    settlement line invoiced nothing to give back. Tax 0.76, total 5.15 back to the balance."""
    closing = (await closed_march(acme, ACME_MARCH))[("month_closing", "acmePA")]
    assert await send(acme, credit("cred-all", closing.invoice_id, reason="month billed in error")) == []
    assert notes(acme) == [credit_note("cred-all", "CN-2026-000001", closing, ACME_R, [
        ln("usage", "Usage marketing, acmeCH0001, 2026-03: 3 messages", "0.34", service_month="2026-03",
           client_id="bobCL", channel_id="acmeCH0001", category="marketing"),
        ln("usage", "Usage utility, acmeCH0002, 2026-03: 1 message", "0.05", service_month="2026-03",
           client_id="aliceCL", channel_id="acmeCH0002", category="utility"),
        ln("transaction_fee", "Card transaction fee, 4 % of pay_1 (100.00)", "4.00", service_month="2026-03"),
    ], "4.39", std("0.76"), "5.15", reason="month billed in error")]
    assert balance_credits(acme)[0][1].amount == Decimal("5.15")


async def test_what_is_left_of_a_line_after_earlier_credit_notes_bounds_the_next(acme):
    """Of the 25.00 license line: 10.00, then 15.00 pass; 0.01 more is refused, naming the line and what is
    left; a full credit afterwards credits only the other lines."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    iid = subscription.invoice_id
    assert await send(acme, credit("c1", iid, [(3, "10.00")]), credit("c2", iid, [(3, "15.00")])) == []
    refused = await send(acme, credit("c3", iid, [(0, "1.00"), (3, "0.01")]))
    assert refusals(refused) == [(ErrorCode.CREDIT_EXCEEDS_INVOICE,
                                  "lines.1.amount: 0.01 is more than the 0.00 left to credit on line 3 of "
                                  "INV-2026-000001")]
    assert await send(acme, credit("c4", iid)) == []
    assert [(line["code"], line["amount"]) for line in notes(acme)[-1]["lines"]] == [
        ("partner_plan_prorated", "274.19"), ("partner_plan", "500.00"), ("license_prorated", "13.71"),
        ("license_prorated", "1.58"), ("license", "49.00"), ("license_prorated", "249.00")]
    assert refusals(await send(acme, credit("c5", iid))) == [
        (ErrorCode.CREDIT_EXCEEDS_INVOICE, "lines: nothing is left to credit on INV-2026-000001")]
    assert acme.store.credit_note_numbers == {2026: 3}, "a refused credit takes no number"


async def test_a_line_the_invoice_does_not_have_is_refused(acme):
    """The subscription has lines 0 to 6: line 7 does not exist."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    refused = await send(acme, credit("c1", subscription.invoice_id, [(7, "1.00")]))
    assert refusals(refused) == [(ErrorCode.CREDIT_EXCEEDS_INVOICE,
                                  "lines.0.line: INV-2026-000001 has 7 lines (0 to 6), no line 7")]
    assert notes(acme) == [] and balance_credits(acme) == []


async def test_tax_is_the_invoices_own_treatment_and_rate_on_the_taxable_lines_rounded_once(acme):
    """Two taxable 0.03 credits: 19 % of 0.06 is 0.0114, so 0.01 (per line it would be 0.01 + 0.01); the
    partner moving abroad since does not change the tax of what is corrected."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    await acme.directory({**ACME, "billing_address": {"country": "US", "vat_id": None}})
    await send(acme, credit("c1", subscription.invoice_id, [(2, "0.03"), (4, "0.03")]))
    [note] = notes(acme)
    assert (note["subtotal"], note["tax"], note["total"]) == ("0.06", std("0.01"), "0.07")
    assert note["recipient"] == ACME_R, "the recipient as invoiced"


async def test_a_credit_note_cannot_be_credited(acme):
    """Crediting CN-2026-000001 is refused as unknown_invoice: only an invoice can be credited."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    await send(acme, credit("c1", subscription.invoice_id, [(3, "5.00")]))
    refused = await send(acme, credit("c2", credit_note_id("c1"), [(0, "1.00")]))
    assert refusals(refused) == [(ErrorCode.UNKNOWN_INVOICE, f"invoice_id: {credit_note_id('c1')} is credit note "
                                  "CN-2026-000001; only an invoice can be credited")]


async def test_a_credit_settled_payable_moves_no_balance(acme):
    """payable: the credit note is issued, nothing goes to the balance."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    assert await send(acme, credit("c1", subscription.invoice_id, [(1, "500.00")], settle="payable")) == []
    assert notes(acme)[0]["settle"] == "payable" and notes(acme)[0]["total"] == "595.00"
    assert balance_credits(acme) == []


async def test_a_close_and_a_credit_in_one_batch_are_applied_in_order(acme):
    """The batch's commands run in their order in one transaction: the close is asked, the credit issued."""
    await acme.close("2026-03", ACME_MARCH)
    subscription = next(i for i in acme.issued() if i.kind == "subscription")
    assert await send(acme, {"type": "month.close", "command_id": "close-2026-04", "month": "2026-04"},
                      credit("c1", subscription.invoice_id, [(3, "1.00")])) == []
    assert acme.state("2026-04") == "barrier" and len(notes(acme)) == 1


async def test_a_failure_while_recording_rolls_the_credit_note_back_with_its_number(acme):
    """The credited amounts fail to record: no credit note, no balance credit, and the retry gets 000001."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    acme.store.fail_on = "record_credits"
    with pytest.raises(StoreFailure):
        await send(acme, credit("c1", subscription.invoice_id, [(3, "5.00")]))
    assert notes(acme) == [] and balance_credits(acme) == [] and acme.store.credit_note_numbers == {}
    acme.store.fail_on = None
    await send(acme, credit("c1", subscription.invoice_id, [(3, "5.00")]))
    assert [n["number"] for n in notes(acme)] == ["CN-2026-000001"]


async def test_the_store_refuses_crediting_a_line_beyond_what_it_invoiced(acme):
    """The constraint under the rule: two credits of one line that together exceed it cannot both be recorded
    (two instances deciding at once), and the transaction that tries rolls back."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    await send(acme, credit("c1", subscription.invoice_id, [(3, "20.00")]))
    with pytest.raises(StoreFailure):
        async with acme.uow() as store:
            await store.record_credits(credit_note_id("c1"), subscription, [(3, Decimal("5.01"))])
    assert acme.store.line_credits[(subscription.invoice_id, 3)] == (Decimal("25.00"), Decimal("20.00"))


# --- which balance ---------------------------------------------------------------------------------


async def test_a_direct_paid_license_credit_goes_to_the_channels_own_balance(globex):
    """globexCH0007's April license (INV-2026-000005, Initech, FR, 19 %): 25.00 back is 29.75 to the
    channel's balance, with its client."""
    license_ = (await closed_march(globex, *GLOBEX_MARCH))[("license", "globexCH0007")]
    assert await send(globex, credit("c7", license_.invoice_id, reason="channel never went live")) == []
    assert notes(globex) == [credit_note(
        "c7", "CN-2026-000001", license_, INITECH_R,
        [ln("license", "License regular, globexCH0007, 2026-04", "25.00", service_month="2026-04",
            client_id="initechCL", channel_id="globexCH0007")], "25.00", std("4.75"), "29.75",
        reason="channel never went live")]
    [(key, c)] = balance_credits(globex)
    assert (key, c.balance.owner_id, c.client_id, c.billing_model, c.currency, c.amount) == (
        b"globexCH0007", "globexCH0007", "initechCL", "direct_paid", "USD", Decimal("29.75"))


async def test_a_reverse_charge_credit_note_carries_no_tax(globex):
    """Hooli (AT, VAT id) was invoiced under reverse charge: its credit note too."""
    license_ = (await closed_march(globex, *GLOBEX_MARCH))[("license", "globexCH0008")]
    await send(globex, credit("c8", license_.invoice_id, [(0, "49.00")]))
    [note] = notes(globex)
    assert (note["recipient"], note["tax"], note["total"]) == (HOOLI_R, REVERSE, "49.00")


async def test_a_direct_paid_partner_plan_has_no_balance_to_credit_but_can_be_settled_payable(globex):
    """globexPA's plan invoice: credit_balance is refused as unknown_account (a Direct-Paid partner has no
    balance); payable issues the credit note, outside the scope of VAT like the invoice."""
    plan = (await closed_march(globex, *GLOBEX_MARCH))[("partner_plan", "globexPA")]
    refused = await send(globex, credit("p1", plan.invoice_id, [(1, "1000.00")]))
    assert refusals(refused) == [(ErrorCode.UNKNOWN_ACCOUNT, (
        "settle: INV-2026-000004 bills Direct-Paid partner globexPA, which has no balance to credit; settle it "
        "payable"))]
    assert await send(globex, credit("p2", plan.invoice_id, [(1, "1000.00")], settle="payable")) == []
    assert notes(globex) == [credit_note(
        "p2", "CN-2026-000001", plan, GLOBEX_R,
        [ln("partner_plan", "Partner plan Premium, 2026-04", "1000.00", service_month="2026-04")],
        "1000.00", OUTSIDE, "1000.00", settle="payable")]
    assert balance_credits(globex) == []


async def test_a_direct_paid_prepayment_credit_goes_back_to_the_balance_it_topped_up(globex):
    """The prepayment of globexCH0007: its balance, whatever the invoice's kind."""
    [prepayment] = await globex.entries(entry("pay_7", "globexCH0007", "10.00"))
    await send(globex, credit("c1", prepayment.invoice_id, [(0, "10.00")]))
    assert [(k, c.balance.owner_id, c.amount) for k, c in balance_credits(globex)] == [
        (b"globexCH0007", "globexCH0007", Decimal("11.90"))]


# --- an invoice not recorded yet -------------------------------------------------------------------


UNKNOWN = "0b6f7f2e-0000-4000-8000-00000000dead"


async def test_an_id_that_is_no_invoice_id_is_refused_at_once(acme):
    """Not a UUID, so no invoice can ever have it: unknown_invoice without waiting."""
    assert refusals(await send(acme, credit("c1", "INV-2026-000001"))) == [
        (ErrorCode.UNKNOWN_INVOICE, "invoice_id: no invoice INV-2026-000001")]
    assert acme.store.held == {}


async def test_a_credit_of_an_invoice_not_recorded_yet_is_held_then_issued_when_it_is(acme):
    """A restore replays the commands before the closes that issue the invoices again: the credit waits
    (and a later credit of the same invoice waits behind it), then both are issued in order."""
    iid = invoice_id("subscription", "acmePA", "2026-04")
    assert await send(acme, credit("c1", iid, [(3, "20.00")]), credit("c2", iid, [(3, "5.00")])) == []
    assert len(acme.store.held) == 2 and notes(acme) == []
    letters: list[Rejected] = []
    assert await retry(acme, letters) == 0
    await acme.close("2026-03", ACME_MARCH)
    assert await retry(acme, letters) == 2 and letters == [] and acme.store.held == {}
    assert [(n["number"], n["lines"][0]["amount"]) for n in notes(acme)] == [
        ("CN-2026-000001", "20.00"), ("CN-2026-000002", "5.00")]


async def test_a_credit_whose_invoice_never_comes_is_dead_lettered_after_the_hold(acme):
    """After the hold time the held command goes to billing.commands.v1.dlq as unknown_invoice."""
    await send(acme, credit("c1", UNKNOWN))
    letters: list[Rejected] = []
    late = (utc(CREDITED_AT) + timedelta(seconds=HOLD_S)).isoformat()
    assert await retry(acme, letters, now=late) == 1
    assert [(r.code, r.reason, r.record.topic, r.record.offset) for r in letters] == [
        (ErrorCode.UNKNOWN_INVOICE, f"invoice_id: no invoice {UNKNOWN}", COMMANDS.name, 0)]
    assert acme.store.held == {}


async def test_without_a_hold_time_an_unknown_invoice_is_refused_at_once(acme):
    """BILLING_INVOICING_HOLD_S=0: unknown_invoice straight away."""
    assert refusals(await send(acme, credit("c1", UNKNOWN), hold_s=0)) == [
        (ErrorCode.UNKNOWN_INVOICE, f"invoice_id: no invoice {UNKNOWN}")]


# --- the month close -------------------------------------------------------------------------------


async def test_a_close_waits_until_balance_has_booked_the_credits_issued_before_it(acme):
    """A credit note issued before the close of April: the barrier waits until invoicing's outbox has
    published its balance credit, then until balance has read up to it; April's closing shows it."""
    subscription = (await closed_march(acme, ACME_MARCH))[("subscription", "acmePA")]
    await send(acme, credit("c1", subscription.invoice_id, [(3, "10.00")]))
    await acme.command("2026-04")
    acme.catch_up()
    await acme.advance()
    assert acme.state("2026-04") == "barrier", "the balance credit is still in the outbox"
    acme.store.relay()
    acme.offsets.set_end(BALANCE_CREDITS.name, {2: 1})
    await acme.advance()
    assert acme.state("2026-04") == "debits"
    acme.offsets.commit(BALANCE, USAGE_PRICED.name, acme.offsets.ends[USAGE_PRICED.name])
    await acme.advance()
    assert acme.state("2026-04") == "debits", "balance has not booked the credit yet"
    acme.offsets.commit(BALANCE, BALANCE_CREDITS.name, {2: 1})
    await acme.advance()
    assert acme.state("2026-04") == "ledger"


async def test_the_month_closing_summary_shows_the_credits_booked_to_the_month(acme):
    """April's closing of acmePA holds the 11.90 credit: ending = 149.6151 + 0 + 11.90 - 0 - 0."""
    await acme.close("2026-03", ACME_MARCH)
    april = {"type": "balance.closing", "month": "2026-04", "balance": {"partner_id": "acmePA"},
             "partner_id": "acmePA", "client_id": None, "billing_model": "partner_paid", "currency": "EUR",
             "starting_balance": "149.6151", "added_funds": "0.00", "credits": "11.90", "usage": "0.00",
             "refunds": "0.00", "ending_balance": "161.5151", "usage_lines": [], "payments": []}
    issued = by_kind(await acme.close("2026-04", april, now="2026-05-01T00:10:00Z"))
    assert issued[("month_closing", "acmePA")]["summary"] == {
        "starting_balance": "149.6151", "added_funds": "0.00", "credits": "11.90", "usage": "0.00",
        "refunds": "0.00", "ending_balance": "161.5151"}


# --- helpers ---------------------------------------------------------------------------------------


async def retry(w: World, letters: list[Rejected], now: str = CREDITED_AT) -> int:
    """The held-credit sweep, dead-lettering into `letters`."""
    async def dead_letter(refused: list[Rejected]) -> None:
        letters.extend(refused)

    return await credits.retry_held_credits(w.uow, utc(now), HOLD_S, dead_letter)
