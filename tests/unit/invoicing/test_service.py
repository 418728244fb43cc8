"""The invoicing rules of CONTRACT.md §4.2 and §4.3 through the invoicing use cases, on the in-memory store.

Each test feeds directory events, ledger entries, month-close commands and the
ledger's closing answers to the use cases as the consumers hand them over,
moves the close's barrier with the fake Kafka positions, and compares the
invoices queued for publication, field by field, with expectations computed
by hand and written here.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from services.invoicing import credits, issue_documents, service
from services.invoicing.domain.documents import invoice_id
from shared.contracts import Invoice, LedgerClose, decode
from shared.dead_letters import Accepted
from shared.topics import BALANCE_CREDITS, DIRECTORY, LEDGER_CLOSE, MESSAGE_STATUS, PAYMENTS, RATECARDS, USAGE_PRICED
from tests.builders import channel, client, partner

from .fakes import FakeInvoiceStore, FakeOffsets, FakeUnitOfWork, Feed, StoreFailure, fake_renderer

INGEST = "usage-ingest"
HOLD_S = 3600.0
BALANCE = "balance"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


ADDED_AT = "2026-03-31T18:00:00Z"  # when the directory below is consumed
CLOSE_MARCH_AT = "2026-04-01T00:10:00Z"
CLOSE_APRIL_AT = "2026-05-01T00:10:00Z"

# --- the directory ---------------------------------------------------------------------------------

ACME_R = {"type": "partner", "id": "acmePA", "name": "Acme Messaging GmbH", "country": "DE",
          "vat_id": "DE123456789"}
GLOBEX_R = {"type": "partner", "id": "globexPA", "name": "Globex Corporation", "country": "US", "vat_id": None}
INITECH_R = {"type": "client", "id": "initechCL", "name": "Initech SARL", "country": "FR", "vat_id": None}
HOOLI_R = {"type": "client", "id": "hooliCL", "name": "Hooli GmbH", "country": "AT", "vat_id": "ATU12345678"}


def named_client(recipient: dict[str, Any], partner_id: str) -> dict[str, Any]:
    return {**client(recipient["id"], partner_id), "name": recipient["name"],
            "billing_address": {"country": recipient["country"], "vat_id": recipient["vat_id"]}}


def cancelled(channel_id: str, partner_id: str, at: str) -> dict[str, Any]:
    return {"type": "channel.cancelled", "channel_id": channel_id, "partner_id": partner_id, "cancelled_at": at}


ACME = partner("acmePA", "partner_paid", "EUR", name="Acme Messaging GmbH", created_at="2026-03-15T10:00:00Z",
               billing_address={"country": "DE", "vat_id": "DE123456789"})
# Partner-Paid, created mid-March: a regular channel from the 15th, a premium one from the 31st, a
# high-throughput one from the 1st cancelled on the 20th, and one starting on April 1st.
ACME_DIRECTORY = [
    ACME, named_client({"id": "bobCL", "name": "Bob's Bikes", "country": "AT", "vat_id": None}, "acmePA"),
    named_client({"id": "aliceCL", "name": "Alice Apps", "country": "FR", "vat_id": "FR12345678901"}, "acmePA"),
    channel("acmeCH0001", "bobCL", "acmePA", "2026-03-15T09:30:00Z", "regular"),
    channel("acmeCH0002", "aliceCL", "acmePA", "2026-03-31T18:00:00Z", "premium"),
    channel("acmeCH0003", "bobCL", "acmePA", "2026-03-01T00:00:00Z", "high_throughput"),
    cancelled("acmeCH0003", "acmePA", "2026-03-20T12:00:00Z"),
    channel("acmeCH0004", "aliceCL", "acmePA", "2026-04-01T00:00:00Z", "regular"),
]
GLOBEX = partner("globexPA", "direct_paid", "USD", name="Globex Corporation", plan="premium",
                 created_at="2026-03-15T00:00:00Z", billing_address={"country": "US", "vat_id": None})
# Direct-Paid, premium plan, created mid-March, a US address; a French client without a VAT id and an
# Austrian one with one.
GLOBEX_DIRECTORY = [
    GLOBEX, named_client(INITECH_R, "globexPA"), named_client(HOOLI_R, "globexPA"),
    channel("globexCH0007", "initechCL", "globexPA", "2026-03-15T12:00:00Z", "regular"),
    channel("globexCH0008", "hooliCL", "globexPA", "2026-03-20T00:00:00Z", "premium"),
    channel("globexCH0009", "hooliCL", "globexPA", "2026-03-31T00:00:00Z", "regular"),
]
# channel → (partner, client) of Direct-Paid channels, for ledger entries and closings.
DP_CHANNELS = {"globexCH0007": ("globexPA", "initechCL"), "globexCH0008": ("globexPA", "hooliCL"),
               "globexCH0009": ("globexPA", "hooliCL"), "globexCH0010": ("globexPA", "wayneCL")}


# --- what balance sends ----------------------------------------------------------------------------


def entry(entry_id: str, owner: str, amount: str, method: str | None = "card", at: str = "2026-03-16T08:00:00Z",
          kind: str = "payment", booked: str | None = None) -> dict[str, Any]:
    """A ledger entry as balance publishes it, for acmePA's shared balance or a Direct-Paid channel's."""
    if owner in DP_CHANNELS:
        partner_id, client_id = DP_CHANNELS[owner]
        who = {"balance": {"channel_id": owner}, "partner_id": partner_id, "client_id": client_id,
               "channel_id": owner, "billing_model": "direct_paid", "currency": "USD"}
    else:
        who = {"balance": {"partner_id": owner}, "partner_id": owner, "client_id": None, "channel_id": None,
               "billing_model": "partner_paid", "currency": "EUR"}
    return {"entry_id": entry_id, "kind": kind, **who, "amount": amount, "method": method, "occurred_at": at,
            "booked_month": booked or at[:7], "topup_request_id": None, "balance_after": amount}


def used(channel_id: str, category: str, month: str, quantity: int, amount: str, client_id: str = "bobCL"):
    return {"channel_id": channel_id, "client_id": client_id, "category": category, "usage_month": month,
            "quantity": quantity, "amount": amount}


def paid(payment_id: str, amount: str, method: str = "card", at: str = "2026-03-16T08:00:00Z"):
    return {"payment_id": payment_id, "method": method, "amount": amount, "paid_at": at}


def balance_closing(owner: str, month: str, usage_lines: list[dict] = (), payments: list[dict] = (),
                    starting: str = "0.00", added: str = "0.00", usage: str = "0.00", refunds: str = "0.00",
                    ending: str = "0.00") -> dict[str, Any]:
    """One balance's closing of `month`, without its close_id (the close fills it in)."""
    if owner in DP_CHANNELS:
        partner_id, client_id = DP_CHANNELS[owner]
        who = {"balance": {"channel_id": owner}, "partner_id": partner_id, "client_id": client_id,
               "billing_model": "direct_paid", "currency": "USD"}
    else:
        who = {"balance": {"partner_id": owner}, "partner_id": owner, "client_id": None,
               "billing_model": "partner_paid", "currency": "EUR"}
    return {"type": "balance.closing", "month": month, **who, "starting_balance": starting, "added_funds": added,
            "usage": usage, "refunds": refunds, "ending_balance": ending, "usage_lines": list(usage_lines),
            "payments": list(payments)}


def ledger_closed(close_id: str, month: str, balances: int) -> dict[str, Any]:
    return {"type": "ledger.closed", "close_id": close_id, "month": month, "balances": balances}


# --- expected invoices -----------------------------------------------------------------------------


def ln(code: str, description: str, amount: str, unit_price: str | None = None, quantity: str = "1",
       service_month: str | None = None, client_id: str | None = None, channel_id: str | None = None,
       **extra: Any) -> dict[str, Any]:
    """One invoice line as it is published."""
    return {"code": code, "description": description, "quantity": quantity, "unit_price": unit_price or amount,
            "amount": amount, "service_month": service_month, "client_id": client_id, "channel_id": channel_id,
            **extra}


def std(amount: str) -> dict[str, str]:
    return {"treatment": "standard", "rate": "0.19", "amount": amount}


REVERSE = {"treatment": "reverse_charge", "rate": "0", "amount": "0.00"}
OUTSIDE = {"treatment": "outside_scope", "rate": "0", "amount": "0.00"}


def summary(starting: str, added: str, usage: str, refunds: str, ending: str, credits: str = "0.00") -> dict[str, str]:
    """A month-closing summary as published; `credits` is always written since 1.1."""
    return {"starting_balance": starting, "added_funds": added, "credits": credits, "usage": usage,
            "refunds": refunds, "ending_balance": ending}


# partner → (billing model, currency); client → partner.
PARTNERS = {"acmePA": ("partner_paid", "EUR"), "quietPA": ("partner_paid", "EUR"), "globexPA": ("direct_paid", "USD")}
CLIENTS = {"initechCL": "globexPA", "hooliCL": "globexPA", "wayneCL": "globexPA", "ghostCL": "globexPA"}


def expected(key: tuple[str, ...], number: str, recipient: dict[str, Any], period: str, issued_at: str,
             lines: list[dict[str, Any]], subtotal: str, tax: dict[str, str], total: str,
             client_id: str | None = None, channel_id: str | None = None,
             summary: dict[str, str] | None = None) -> dict[str, Any]:
    """A whole invoice as it is published: its kind is the first element of its key; its partner is the
    recipient or the recipient's partner, whose model and currency it carries."""
    partner_id = recipient["id"] if recipient["type"] == "partner" else CLIENTS[recipient["id"]]
    billing_model, currency = PARTNERS[partner_id]
    return {"invoice_id": invoice_id(*key), "number": number, "kind": key[0], "billing_model": billing_model,
            "recipient": recipient, "partner_id": partner_id, "client_id": client_id, "channel_id": channel_id,
            "period": period, "issued_at": issued_at, "currency": currency, "lines": lines, "subtotal": subtotal,
            "tax": tax, "total": total, "summary": summary}


def published(invoices: list[Invoice]) -> list[dict[str, Any]]:
    return [json.loads(i.model_dump_json()) for i in invoices]


def by_kind(invoices: list[Invoice]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, recipient or channel) → the invoice as published; fails on a duplicate."""
    out = {(i.kind, i.channel_id or i.recipient.id): json.loads(i.model_dump_json()) for i in invoices}
    assert len(out) == len(invoices)
    return out


# --- the world -------------------------------------------------------------------------------------


@dataclass
class World:
    """One invoicing instance with its store, the Kafka positions it reads and the records it has consumed."""

    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    feed: Feed = field(default_factory=Feed)
    offsets: FakeOffsets = field(default_factory=FakeOffsets)

    @property
    def store(self) -> FakeInvoiceStore:
        return self.uow.store

    def issued(self) -> list[Invoice]:
        return self.store.issued()

    async def _new(self, call: Any) -> list[Invoice]:
        before = len(self.issued())
        assert await call == []
        return self.issued()[before:]

    async def directory(self, *bodies: dict[str, Any], now: str = ADDED_AT) -> list[Invoice]:
        return await self._new(service.apply_directory(self.uow, self.feed.directory(*bodies), utc(now)))

    async def entries(self, *bodies: dict[str, Any], now: str = "2026-03-16T08:00:05Z") -> list[Invoice]:
        return await self._new(service.apply_ledger_entries(self.uow, self.feed.entries(*bodies), utc(now)))

    async def command(self, month: str, command_id: str | None = None) -> None:
        body = {"type": "month.close", "command_id": command_id or f"close-{month}", "month": month}
        assert await credits.apply_commands(self.uow, self.offsets, self.feed.commands(body), utc(ADDED_AT),
                                            HOLD_S) == []

    async def advance(self, now: str = CLOSE_MARCH_AT) -> None:
        await service.advance_closes(self.uow, self.offsets, INGEST, BALANCE, utc(now))

    async def closed_batch(self, batch: list[Accepted], now: str) -> list[Invoice]:
        return await self._new(service.apply_ledger_closed(self.uow, batch, utc(now)))

    async def closed(self, *bodies: dict[str, Any], now: str = CLOSE_MARCH_AT) -> list[Invoice]:
        return await self.closed_batch(self.feed.closed(*bodies), now)

    def catch_up(self) -> None:
        """Every consumer group has committed everything published so far."""
        self.offsets.commit(INGEST, MESSAGE_STATUS.name, self.offsets.ends.get(MESSAGE_STATUS.name, {}))
        self.offsets.commit(BALANCE, USAGE_PRICED.name, self.offsets.ends.get(USAGE_PRICED.name, {}))
        self.offsets.commit(BALANCE, PAYMENTS.name, self.offsets.ends.get(PAYMENTS.name, {}))

    def state(self, month: str) -> str | None:
        row = self.store.closes_rows.get(month)
        return row.state if row else None

    def ledger_closes(self) -> list[LedgerClose]:
        return [decode(LEDGER_CLOSE.name, r.value) for r in self.store.outbox if r.topic == LEDGER_CLOSE.name]

    def answer(self, month: str, *closings: dict[str, Any]) -> list[Accepted]:
        """The ledger's answer to the waiting close of `month`: every closing, then ledger.closed."""
        close_id = self.store.closes_rows[month].command_id
        return self.feed.closed(*({**c, "close_id": close_id} for c in closings),
                                ledger_closed(close_id, month, len(closings)))

    async def close(self, month: str, *closings: dict[str, Any], now: str = CLOSE_MARCH_AT,
                    command_id: str | None = None) -> list[Invoice]:
        """The whole close of `month`: command, barrier, ledger.close, the ledger's answer; its new invoices."""
        await self.command(month, command_id)
        self.catch_up()
        await self.advance(now)
        assert self.state(month) == "ledger"
        issued = await self.closed_batch(self.answer(month, *closings), now)
        assert self.state(month) == "documents"
        await self.finish_documents(now)
        assert self.state(month) == "done"
        assert self.store.closes_rows[month].done_at == utc(now)
        return issued

    async def finish_documents(self, now: str = CLOSE_MARCH_AT) -> None:
        """Every queued invoice gets its documents, then the close waiting for them is done."""
        await issue_documents.make_all_documents(self.uow, fake_renderer, 20)
        await self.advance(now)


async def world_with(*directory: dict[str, Any], now: str = ADDED_AT) -> World:
    w = World()
    w.offsets.set_end(MESSAGE_STATUS.name, {0: 10, 1: 4})
    w.offsets.set_end(PAYMENTS.name, {0: 3})
    w.offsets.set_end(USAGE_PRICED.name, {0: 7})
    await w.directory(*directory, now=now)
    return w


@pytest.fixture
async def acme() -> World:
    w = await world_with(*ACME_DIRECTORY)
    assert w.issued() == []  # nothing is billed to a Partner-Paid partner before a close
    return w


@pytest.fixture
async def globex() -> World:
    return await world_with(*GLOBEX_DIRECTORY)


# What closing March bills acmePA, and what acmePA's ledger held for March.
ACME_MARCH = balance_closing(
    "acmePA", "2026-03",
    [used("acmeCH0001", "marketing", "2026-03", 3, "0.3393"),
     used("acmeCH0002", "utility", "2026-03", 1, "0.0456", "aliceCL")],
    [paid("pay_1", "100.00"), paid("pay_2", "50.00", "bank_transfer", "2026-03-20T08:00:00Z")],
    starting="0.00", added="150.00", usage="0.3849", ending="149.6151")
ACME_SUBSCRIPTION_APRIL = [
    ln("partner_plan_prorated", "Partner plan Growth, 2026-03 (17 of 31 days)", "274.19", service_month="2026-03"),
    ln("partner_plan", "Partner plan Growth, 2026-04", "500.00", service_month="2026-04"),
    ln("license_prorated", "License regular, acmeCH0001, 2026-03 (17 of 31 days)", "13.71",
       service_month="2026-03", client_id="bobCL", channel_id="acmeCH0001"),
    ln("license", "License regular, acmeCH0001, 2026-04", "25.00", service_month="2026-04", client_id="bobCL",
       channel_id="acmeCH0001"),
    ln("license_prorated", "License premium, acmeCH0002, 2026-03 (1 of 31 days)", "1.58",
       service_month="2026-03", client_id="aliceCL", channel_id="acmeCH0002"),
    ln("license", "License premium, acmeCH0002, 2026-04", "49.00", service_month="2026-04", client_id="aliceCL",
       channel_id="acmeCH0002"),
    ln("license_prorated", "License high_throughput, acmeCH0003, 2026-03 (31 of 31 days)", "249.00",
       service_month="2026-03", client_id="bobCL", channel_id="acmeCH0003"),
]


# --- Partner-Paid ----------------------------------------------------------------------------------


async def test_a_partner_paid_payment_issues_a_prepayment_invoice_to_the_partner(acme):
    """pay_1, 100.00 by card: one prepayment invoice to acmePA, period the month paid, 19 % German VAT."""
    issued = await acme.entries(entry("pay_1", "acmePA", "100.00"))
    assert published(issued) == [expected(
        ("prepayment", "pay_1"), "INV-2026-000001", ACME_R, "2026-03", "2026-03-16T08:00:05Z",
        [ln("prepayment", "Prepayment of the credit balance (card, pay_1)", "100.00", service_month="2026-03")],
        "100.00", std("19.00"), "119.00")]
    assert acme.store.outbox[0].key == b"acmePA"


async def test_a_refund_issues_no_invoice_and_a_payment_seen_twice_issues_one(acme):
    """A refund entry is skipped; pay_1 delivered again (even in the same batch) keeps its one invoice."""
    assert await acme.entries(entry("ref_1", "acmePA", "30.00", None, kind="refund")) == []
    first = await acme.entries(entry("pay_1", "acmePA", "100.00"), entry("pay_1", "acmePA", "100.00"))
    again = await acme.entries(entry("pay_1", "acmePA", "100.00"))
    assert [i.number for i in first] == ["INV-2026-000001"] and again == []


async def test_a_payment_of_a_partner_invoicing_does_not_know_yet_fails_the_batch_to_be_retried():
    """No partner, no recipient: the batch raises (and is redelivered) rather than misaddress an invoice."""
    w = World()
    with pytest.raises(LookupError):
        await w.entries(entry("pay_1", "acmePA", "100.00"))
    assert w.uow.rolled_back == 1 and w.store.invoices == {}
    await w.directory(ACME)
    assert [i.kind for i in await w.entries(entry("pay_1", "acmePA", "100.00"))] == ["prepayment"]


async def test_closing_a_month_bills_the_partner_paid_subscription_for_the_next_month_and_this_months_starts(
        acme):
    """Closing 2026-03: plan and licenses for April, the plan and the channels started in March prorated;
    the channel cancelled on March 20th only for March, the one starting on April 1st not yet."""
    issued = by_kind(await acme.close("2026-03", ACME_MARCH))
    assert issued[("subscription", "acmePA")] == expected(
        ("subscription", "acmePA", "2026-04"), "INV-2026-000001", ACME_R, "2026-04", CLOSE_MARCH_AT,
        ACME_SUBSCRIPTION_APRIL, "1112.48", std("211.37"), "1323.85")


async def test_closing_a_month_issues_the_partner_paid_month_closing_with_usage_settlement_fees_and_summary(acme):
    """Usage per channel and category, settled with the balance, 4 % of the card payment and no fee on the
    bank transfer; only the fee is taxed; the summary is the ledger's."""
    issued = by_kind(await acme.close("2026-03", ACME_MARCH))
    assert issued[("month_closing", "acmePA")] == expected(
        ("month_closing", "acmePA", "2026-03"), "INV-2026-000002", ACME_R, "2026-03", CLOSE_MARCH_AT, [
            ln("usage", "Usage marketing, acmeCH0001, 2026-03: 3 messages", "0.34", "0.1131", "3",
               service_month="2026-03", client_id="bobCL", channel_id="acmeCH0001", category="marketing"),
            ln("usage", "Usage utility, acmeCH0002, 2026-03: 1 message", "0.05", "0.0456",
               service_month="2026-03", client_id="aliceCL", channel_id="acmeCH0002", category="utility"),
            ln("settled_with_credit_balance", "Settled with the credit balance, 2026-03", "-0.39",
               service_month="2026-03"),
            ln("transaction_fee", "Card transaction fee, 4 % of pay_1 (100.00)", "4.00", service_month="2026-03"),
        ], "4.00", std("0.76"), "4.76", summary=summary("0.00", "150.00", "0.3849", "0.00", "149.6151"))
    assert sorted(issued) == [("month_closing", "acmePA"), ("subscription", "acmePA")]


async def test_the_next_close_bills_the_month_after_and_late_usage_and_never_a_month_twice(acme):
    """Closing April: May for every live channel, the channel started April 1st prorated (30 of 30) and May,
    nothing for the channel cancelled in March; March usage processed in April is late usage."""
    await acme.close("2026-03", ACME_MARCH)
    april = balance_closing(
        "acmePA", "2026-04",
        [used("acmeCH0001", "marketing", "2026-04", 1, "0.1131"),
         used("acmeCH0001", "marketing", "2026-03", 2, "0.2262")],
        starting="149.6151", usage="0.3393", ending="149.2758")
    issued = by_kind(await acme.close("2026-04", april, now=CLOSE_APRIL_AT))
    assert issued == {
        ("subscription", "acmePA"): expected(
            ("subscription", "acmePA", "2026-05"), "INV-2026-000003", ACME_R, "2026-05", CLOSE_APRIL_AT, [
                ln("partner_plan", "Partner plan Growth, 2026-05", "500.00", service_month="2026-05"),
                ln("license", "License regular, acmeCH0001, 2026-05", "25.00", service_month="2026-05",
                   client_id="bobCL", channel_id="acmeCH0001"),
                ln("license", "License premium, acmeCH0002, 2026-05", "49.00", service_month="2026-05",
                   client_id="aliceCL", channel_id="acmeCH0002"),
                ln("license_prorated", "License regular, acmeCH0004, 2026-04 (30 of 30 days)", "25.00",
                   service_month="2026-04", client_id="aliceCL", channel_id="acmeCH0004"),
                ln("license", "License regular, acmeCH0004, 2026-05", "25.00", service_month="2026-05",
                   client_id="aliceCL", channel_id="acmeCH0004"),
            ], "624.00", std("118.56"), "742.56"),
        ("month_closing", "acmePA"): expected(
            ("month_closing", "acmePA", "2026-04"), "INV-2026-000004", ACME_R, "2026-04", CLOSE_APRIL_AT, [
                ln("usage", "Usage marketing, acmeCH0001, 2026-04: 1 message", "0.11", "0.1131",
                   service_month="2026-04", client_id="bobCL", channel_id="acmeCH0001", category="marketing"),
                ln("late_usage", "Late usage marketing, acmeCH0001, 2026-03: 2 messages", "0.23", "0.1131", "2",
                   service_month="2026-03", client_id="bobCL", channel_id="acmeCH0001", category="marketing",
                   usage_month="2026-03"),
                ln("settled_with_credit_balance", "Settled with the credit balance, 2026-04", "-0.34",
                   service_month="2026-04"),
            ], "0.00", std("0.00"), "0.00", summary=summary("149.6151", "0.00", "0.3393", "0.00", "149.2758")),
    }
    assert sorted(k for k in acme.store.billed_rows if k[1] == "acmeCH0003") == [
        ("license", "acmeCH0003", "2026-03")]


async def test_every_partner_paid_partner_that_existed_during_the_month_gets_a_month_closing(acme):
    """A partner without balance movements gets an empty month closing with a zero summary; one created
    after the month gets nothing for it."""
    await acme.directory(
        partner("quietPA", name="Quiet GmbH", created_at="2026-03-31T23:59:59Z",
                billing_address={"country": "DE", "vat_id": None}),
        partner("laterPA", name="Later GmbH", created_at="2026-04-01T00:00:00Z"))
    issued = by_kind(await acme.close("2026-03", ACME_MARCH))
    quiet_r = {"type": "partner", "id": "quietPA", "name": "Quiet GmbH", "country": "DE", "vat_id": None}
    quiet_closing = issued[("month_closing", "quietPA")]
    assert quiet_closing == expected(
        ("month_closing", "quietPA", "2026-03"), "INV-2026-000004", quiet_r, "2026-03", CLOSE_MARCH_AT, [],
        "0.00", std("0.00"), "0.00", summary=summary("0.00", "0.00", "0.00", "0.00", "0.00"))
    assert [x["amount"] for x in issued[("subscription", "quietPA")]["lines"]] == ["16.13", "500.00"]
    assert sorted(issued) == [("month_closing", "acmePA"), ("month_closing", "quietPA"),
                              ("subscription", "acmePA"), ("subscription", "quietPA")]


async def test_the_worked_example_of_the_contract():
    """§5: created 2026-01-01, A regular from 2026-01-01, B premium from 2026-02-10, one 0.1131 marketing
    message in February. Closing January, then February: 607.25 + 115.38 = 722.63; usage 0.11 settled."""
    r = {"type": "partner", "id": "acmePA", "name": "Acme Messaging GmbH", "country": "DE", "vat_id": "DE123456789"}
    w = await world_with(
        partner("acmePA", name="Acme Messaging GmbH", created_at="2026-01-01T00:00:00Z",
                billing_address={"country": "DE", "vat_id": "DE123456789"}),
        client("bobCL", "acmePA"),
        channel("acmeCH000A", "bobCL", "acmePA", "2026-01-01T00:00:00Z", "regular"),
        channel("acmeCH000B", "bobCL", "acmePA", "2026-02-10T00:00:00Z", "premium"), now="2026-01-01T00:00:00Z")
    january = await w.close("2026-01", now="2026-02-01T00:00:07Z")
    assert published(january) == [
        expected(("subscription", "acmePA", "2026-02"), "INV-2026-000001", r, "2026-02", "2026-02-01T00:00:07Z", [
            ln("partner_plan_prorated", "Partner plan Growth, 2026-01 (31 of 31 days)", "500.00",
               service_month="2026-01"),
            ln("partner_plan", "Partner plan Growth, 2026-02", "500.00", service_month="2026-02"),
            ln("license_prorated", "License regular, acmeCH000A, 2026-01 (31 of 31 days)", "25.00",
               service_month="2026-01", client_id="bobCL", channel_id="acmeCH000A"),
            ln("license", "License regular, acmeCH000A, 2026-02", "25.00", service_month="2026-02",
               client_id="bobCL", channel_id="acmeCH000A"),
        ], "1050.00", std("199.50"), "1249.50"),
        expected(("month_closing", "acmePA", "2026-01"), "INV-2026-000002", r, "2026-01", "2026-02-01T00:00:07Z",
                 [], "0.00", std("0.00"), "0.00", summary=summary("0.00", "0.00", "0.00", "0.00", "0.00")),
    ]
    february = balance_closing("acmePA", "2026-02", [used("acmeCH000A", "marketing", "2026-02", 1, "0.1131")],
                               usage="0.1131", ending="-0.1131")
    issued = await w.close("2026-02", february, now="2026-03-01T00:00:07Z")
    assert published(issued) == [
        expected(("subscription", "acmePA", "2026-03"), "INV-2026-000003", r, "2026-03", "2026-03-01T00:00:07Z", [
            ln("partner_plan", "Partner plan Growth, 2026-03", "500.00", service_month="2026-03"),
            ln("license", "License regular, acmeCH000A, 2026-03", "25.00", service_month="2026-03",
               client_id="bobCL", channel_id="acmeCH000A"),
            ln("license_prorated", "License premium, acmeCH000B, 2026-02 (19 of 28 days)", "33.25",
               service_month="2026-02", client_id="bobCL", channel_id="acmeCH000B"),
            ln("license", "License premium, acmeCH000B, 2026-03", "49.00", service_month="2026-03",
               client_id="bobCL", channel_id="acmeCH000B"),
        ], "607.25", std("115.38"), "722.63"),
        expected(("month_closing", "acmePA", "2026-02"), "INV-2026-000004", r, "2026-02", "2026-03-01T00:00:07Z", [
            ln("usage", "Usage marketing, acmeCH000A, 2026-02: 1 message", "0.11", "0.1131",
               service_month="2026-02", client_id="bobCL", channel_id="acmeCH000A", category="marketing"),
            ln("settled_with_credit_balance", "Settled with the credit balance, 2026-02", "-0.11",
               service_month="2026-02"),
        ], "0.00", std("0.00"), "0.00", summary=summary("0.00", "0.00", "0.1131", "0.00", "-0.1131")),
    ]


# --- Direct-Paid -----------------------------------------------------------------------------------


async def test_a_direct_paid_channel_is_billed_its_prorated_start_month_to_its_client_as_soon_as_it_is_added():
    """No close needed: one license_prorated invoice per channel, to its client, taxed by the client's address
    (FR without VAT id: standard; AT with one: reverse charge)."""
    w = World()
    issued = await w.directory(*GLOBEX_DIRECTORY)
    assert published(issued) == [
        expected(("license_prorated", "globexCH0007", "2026-03"), "INV-2026-000001", INITECH_R, "2026-03", ADDED_AT,
                 [ln("license_prorated", "License regular, globexCH0007, 2026-03 (17 of 31 days)", "13.71",
                     service_month="2026-03", client_id="initechCL", channel_id="globexCH0007")],
                 "13.71", std("2.60"), "16.31", client_id="initechCL", channel_id="globexCH0007"),
        expected(("license_prorated", "globexCH0008", "2026-03"), "INV-2026-000002", HOOLI_R, "2026-03", ADDED_AT,
                 [ln("license_prorated", "License premium, globexCH0008, 2026-03 (12 of 31 days)", "18.97",
                     service_month="2026-03", client_id="hooliCL", channel_id="globexCH0008")],
                 "18.97", REVERSE, "18.97", client_id="hooliCL", channel_id="globexCH0008"),
        expected(("license_prorated", "globexCH0009", "2026-03"), "INV-2026-000003", HOOLI_R, "2026-03", ADDED_AT,
                 [ln("license_prorated", "License regular, globexCH0009, 2026-03 (1 of 31 days)", "0.81",
                     service_month="2026-03", client_id="hooliCL", channel_id="globexCH0009")],
                 "0.81", REVERSE, "0.81", client_id="hooliCL", channel_id="globexCH0009"),
    ]
    assert [r.key for r in w.store.outbox] == [b"initechCL", b"hooliCL", b"hooliCL"]
    assert sorted(w.store.billed_rows) == [("license", "globexCH0007", "2026-03"),
                                           ("license", "globexCH0008", "2026-03"),
                                           ("license", "globexCH0009", "2026-03")]


@pytest.mark.parametrize("start, amount, days", [
    ("2026-02-01T00:00:00Z", "25.00", "28 of 28"), ("2026-02-15T08:00:00Z", "12.50", "14 of 28"),
    ("2026-02-28T23:00:00Z", "0.89", "1 of 28"), ("2026-04-01T00:00:00Z", "25.00", "30 of 30"),
    ("2026-04-15T08:00:00Z", "13.33", "16 of 30"), ("2026-04-30T23:00:00Z", "0.83", "1 of 30"),
    ("2026-03-01T00:00:00Z", "25.00", "31 of 31"), ("2026-03-15T08:00:00Z", "13.71", "17 of 31"),
    ("2026-03-31T23:00:00Z", "0.81", "1 of 31")])
async def test_a_direct_paid_license_starting_on_the_1st_the_15th_or_the_last_day_is_prorated_by_day(
        start, amount, days):
    """A regular license: 25.00 × active days / days of a 28-, 30- or 31-day month."""
    w = await world_with(GLOBEX, named_client(INITECH_R, "globexPA"))
    [inv] = await w.directory(channel("globexCH0007", "initechCL", "globexPA", start, "regular"))
    month = start[:7]
    assert [(x.code, x.description, str(x.amount), x.service_month) for x in inv.lines] == [
        ("license_prorated", f"License regular, globexCH0007, {month} ({days} days)", amount, month)]
    assert (inv.period, str(inv.subtotal)) == (month, amount)


async def test_a_direct_paid_payment_issues_a_prepayment_invoice_to_the_channels_client_with_the_channel(globex):
    """pay_7 to globexCH0007: the invoice goes to initechCL and names the client and the channel."""
    issued = await globex.entries(entry("pay_7", "globexCH0007", "50.00", at="2026-03-31T20:00:00Z"),
                                  entry("pay_8", "globexCH0008", "20.00", "bank_transfer", at="2026-03-31T21:00:00Z"),
                                  now="2026-03-31T21:00:05Z")
    assert published(issued) == [
        expected(("prepayment", "pay_7"), "INV-2026-000004", INITECH_R, "2026-03", "2026-03-31T21:00:05Z",
                 [ln("prepayment", "Prepayment of the credit balance (card, pay_7)", "50.00", service_month="2026-03",
                     client_id="initechCL", channel_id="globexCH0007")],
                 "50.00", std("9.50"), "59.50", client_id="initechCL", channel_id="globexCH0007"),
        expected(("prepayment", "pay_8"), "INV-2026-000005", HOOLI_R, "2026-03", "2026-03-31T21:00:05Z",
                 [ln("prepayment", "Prepayment of the credit balance (bank_transfer, pay_8)", "20.00",
                     service_month="2026-03", client_id="hooliCL", channel_id="globexCH0008")],
                 "20.00", REVERSE, "20.00", client_id="hooliCL", channel_id="globexCH0008"),
    ]


async def test_a_prepayment_is_about_the_month_paid_even_when_booked_to_the_next(globex):
    """Paid on March 31st after March was closed: booked to April, the invoice's period is still March."""
    [inv] = await globex.entries(entry("pay_7", "globexCH0007", "50.00", at="2026-03-31T23:59:00Z",
                                       booked="2026-04"), now="2026-04-01T00:20:00Z")
    assert (inv.period, inv.lines[0].service_month) == ("2026-03", "2026-04")


async def test_a_direct_paid_prepayment_of_a_client_invoicing_has_not_seen_yet_is_still_addressed_to_the_client(
        globex):
    """The ledger knew globexCH0010 of wayneCL before invoicing's directory did: the invoice goes to wayneCL
    (at its partner's address), never to the partner."""
    [inv] = await globex.entries(entry("pay_10", "globexCH0010", "50.00", at="2026-03-31T20:00:00Z"))
    assert json.loads(inv.model_dump_json())["recipient"] == {
        "type": "client", "id": "wayneCL", "name": "wayneCL", "country": "US", "vat_id": None}
    assert (inv.client_id, inv.channel_id, inv.tax.treatment) == ("wayneCL", "globexCH0010", "outside_scope")
    assert globex.store.outbox[-1].key == b"wayneCL"


# What the ledger held for March on each Direct-Paid channel balance.
GLOBEX_MARCH = [
    balance_closing("globexCH0007", "2026-03",
                    [used("globexCH0007", "marketing", "2026-03", 2, "0.273", "initechCL")],
                    [paid("pay_7", "50.00", at="2026-03-31T20:00:00Z")],
                    added="50.00", usage="0.273", ending="49.727"),
    balance_closing("globexCH0008", "2026-03", [],
                    [paid("pay_8", "20.00", "bank_transfer", at="2026-03-31T21:00:00Z")],
                    added="20.00", ending="20.00"),
]


async def test_closing_a_month_bills_the_direct_paid_partner_its_plan_for_the_next_month_and_this_one_prorated(
        globex):
    """globexPA, premium, created March 15th, a US address: 548.39 for March (17 of 31 days) and 1000.00 for
    April, outside the scope of VAT."""
    issued = by_kind(await globex.close("2026-03", *GLOBEX_MARCH))
    assert issued[("partner_plan", "globexPA")] == expected(
        ("partner_plan", "globexPA", "2026-04"), "INV-2026-000004", GLOBEX_R, "2026-04", CLOSE_MARCH_AT, [
            ln("partner_plan_prorated", "Partner plan Premium, 2026-03 (17 of 31 days)", "548.39",
               service_month="2026-03"),
            ln("partner_plan", "Partner plan Premium, 2026-04", "1000.00", service_month="2026-04"),
        ], "1548.39", OUTSIDE, "1548.39")


async def test_closing_a_month_issues_one_license_invoice_per_direct_paid_channel_to_its_client(globex):
    """April's license of each channel, to its own client, taxed by that client's address; the prorated
    March licenses were billed when the channels were added and are not billed again."""
    issued = by_kind(await globex.close("2026-03", *GLOBEX_MARCH))
    licenses = {k: v for k, v in issued.items() if k[0] == "license"}
    assert licenses == {
        ("license", "globexCH0007"): expected(
            ("license", "globexCH0007", "2026-04"), "INV-2026-000005", INITECH_R, "2026-04", CLOSE_MARCH_AT,
            [ln("license", "License regular, globexCH0007, 2026-04", "25.00", service_month="2026-04",
                client_id="initechCL", channel_id="globexCH0007")],
            "25.00", std("4.75"), "29.75", client_id="initechCL", channel_id="globexCH0007"),
        ("license", "globexCH0008"): expected(
            ("license", "globexCH0008", "2026-04"), "INV-2026-000007", HOOLI_R, "2026-04", CLOSE_MARCH_AT,
            [ln("license", "License premium, globexCH0008, 2026-04", "49.00", service_month="2026-04",
                client_id="hooliCL", channel_id="globexCH0008")],
            "49.00", REVERSE, "49.00", client_id="hooliCL", channel_id="globexCH0008"),
        ("license", "globexCH0009"): expected(
            ("license", "globexCH0009", "2026-04"), "INV-2026-000008", HOOLI_R, "2026-04", CLOSE_MARCH_AT,
            [ln("license", "License regular, globexCH0009, 2026-04", "25.00", service_month="2026-04",
                client_id="hooliCL", channel_id="globexCH0009")],
            "25.00", REVERSE, "25.00", client_id="hooliCL", channel_id="globexCH0009"),
    }


async def test_a_direct_paid_month_closing_is_issued_only_for_a_channel_with_charged_usage_or_a_card_payment(
        globex):
    """globexCH0007 (usage and a card payment) gets one, to its client; globexCH0008 (only a bank transfer)
    and globexCH0009 (nothing) get none."""
    issued = by_kind(await globex.close("2026-03", *GLOBEX_MARCH))
    assert {k: v for k, v in issued.items() if k[0] == "month_closing"} == {
        ("month_closing", "globexCH0007"): expected(
            ("month_closing", "globexCH0007", "2026-03"), "INV-2026-000006", INITECH_R, "2026-03", CLOSE_MARCH_AT, [
                ln("usage", "Usage marketing, globexCH0007, 2026-03: 2 messages", "0.27", "0.1365", "2",
                   service_month="2026-03", client_id="initechCL", channel_id="globexCH0007", category="marketing"),
                ln("settled_with_credit_balance", "Settled with the credit balance, 2026-03", "-0.27",
                   service_month="2026-03"),
                ln("transaction_fee", "Card transaction fee, 4 % of pay_7 (50.00)", "2.00", service_month="2026-03"),
            ], "2.00", std("0.38"), "2.38", client_id="initechCL", channel_id="globexCH0007",
            summary=summary("0.00", "50.00", "0.273", "0.00", "49.727")),
    }
    assert [(i.kind, i.channel_id or i.recipient.id) for i in globex.issued()[3:]] == [
        ("partner_plan", "globexPA"), ("license", "globexCH0007"), ("month_closing", "globexCH0007"),
        ("license", "globexCH0008"), ("license", "globexCH0009")]


async def test_a_direct_paid_channel_with_only_a_card_payment_gets_a_month_closing_with_the_fee():
    """No usage, one card payment of 10.125: a month closing with a 0.41 fee (0.405 rounded half up)."""
    w = await world_with(*GLOBEX_DIRECTORY)
    issued = by_kind(await w.close("2026-03", balance_closing(
        "globexCH0009", "2026-03", [], [paid("pay_9", "10.125", at="2026-03-31T10:00:00Z")], added="10.125",
        ending="10.125")))
    inv = issued[("month_closing", "globexCH0009")]
    assert [(x["code"], x["amount"]) for x in inv["lines"]] == [("transaction_fee", "0.41")]
    assert (inv["subtotal"], inv["tax"], inv["total"]) == ("0.41", REVERSE, "0.41")


async def test_a_direct_paid_channel_added_again_is_not_billed_its_start_month_twice(globex):
    """A repeated channel.added (a new auto-renewal, say) issues nothing."""
    again = await globex.directory(channel("globexCH0007", "initechCL", "globexPA", "2026-03-15T12:00:00Z"))
    assert again == [] and len(globex.issued()) == 3


async def test_a_partner_paid_channel_added_issues_nothing_until_the_close(acme):
    """Partner-Paid licenses are only on the subscription."""
    assert await acme.directory(channel("acmeCH0009", "bobCL", "acmePA", "2026-03-20T00:00:00Z")) == []


async def test_a_direct_paid_channel_of_a_client_not_yet_known_is_billed_at_its_partners_address():
    """The client's upsert has not arrived: the invoice goes to the client id, at globexPA's (US) address."""
    w = await world_with(GLOBEX)
    [inv] = await w.directory(channel("globexCH0007", "ghostCL", "globexPA", "2026-03-15T12:00:00Z"))
    got = json.loads(inv.model_dump_json())
    assert got["recipient"] == {"type": "client", "id": "ghostCL", "name": "ghostCL", "country": "US",
                                "vat_id": None}
    assert (got["client_id"], got["tax"]) == ("ghostCL", OUTSIDE)


# --- months: cancellations, creations, late announcements -------------------------------------------


async def test_a_direct_paid_channel_cancelled_mid_month_is_billed_through_that_month_and_not_after(globex):
    """globexCH0009 cancelled on April 10th: closing March bills its April (billed in advance); closing April
    bills no May for it, nor does any later close."""
    await globex.close("2026-03", *GLOBEX_MARCH)
    await globex.directory(cancelled("globexCH0009", "globexPA", "2026-04-10T12:00:00Z"), now="2026-04-10T12:00:05Z")
    april = {(i.kind, i.channel_id or i.recipient.id) for i in await globex.close("2026-04", now=CLOSE_APRIL_AT)}
    assert april == {("partner_plan", "globexPA"), ("license", "globexCH0007"), ("license", "globexCH0008")}
    may = {(i.kind, i.channel_id or i.recipient.id) for i in await globex.close("2026-05", now="2026-06-01T00:10:00Z")}
    assert ("license", "globexCH0009") not in may
    assert sorted(m for (_, s, m) in globex.store.billed_rows if s == "globexCH0009") == ["2026-03", "2026-04"]


async def test_a_partner_paid_channel_cancelled_in_the_closed_month_is_not_billed_for_the_next(acme):
    """acmeCH0003, cancelled March 20th: March on the March close, no April, and nothing on the April close."""
    march = await acme.close("2026-03", ACME_MARCH)
    april = await acme.close("2026-04", now=CLOSE_APRIL_AT)
    lines = [(x.service_month, x.code) for inv in march + april for x in inv.lines if x.channel_id == "acmeCH0003"]
    assert lines == [("2026-03", "license_prorated")]


async def test_a_partner_created_mid_month_gets_its_plan_prorated_for_that_month_and_in_full_for_the_next(acme):
    """acmePA, created March 15th: 274.19 for March (17 of 31 days) and 500.00 for April, then only May."""
    march = await acme.close("2026-03", ACME_MARCH)
    april = await acme.close("2026-04", now=CLOSE_APRIL_AT)
    plans = [[(x.code, x.service_month, str(x.amount)) for x in inv.lines if x.code.startswith("partner_plan")]
             for inv in march + april if inv.kind == "subscription"]
    assert plans == [[("partner_plan_prorated", "2026-03", "274.19"), ("partner_plan", "2026-04", "500.00")],
                     [("partner_plan", "2026-05", "500.00")]]


@pytest.mark.parametrize("created, prorated, days", [
    ("2026-02-01T00:00:00Z", "500.00", "28 of 28"), ("2026-02-15T10:00:00Z", "250.00", "14 of 28"),
    ("2026-02-28T23:00:00Z", "17.86", "1 of 28"), ("2026-04-01T00:00:00Z", "500.00", "30 of 30"),
    ("2026-04-15T10:00:00Z", "266.67", "16 of 30"), ("2026-04-30T23:00:00Z", "16.67", "1 of 30"),
    ("2026-03-01T00:00:00Z", "500.00", "31 of 31"), ("2026-03-15T10:00:00Z", "274.19", "17 of 31"),
    ("2026-03-31T23:00:00Z", "16.13", "1 of 31")])
async def test_a_plan_starting_on_the_1st_the_15th_or_the_last_day_is_prorated_by_day_at_its_months_close(
        created, prorated, days):
    """A growth plan: 500.00 × active days / days of a 28-, 30- or 31-day month, then 500.00 in full."""
    month = created[:7]
    following = f"{month[:5]}{int(month[5:]) + 1:02d}"
    w = await world_with({**GLOBEX, "plan": "growth", "created_at": created})
    [inv] = await w.close(month, now=f"{following}-01T00:10:00Z")
    assert (inv.kind, inv.period) == ("partner_plan", following)
    assert [(x.code, x.description, str(x.amount), x.service_month) for x in inv.lines] == [
        ("partner_plan_prorated", f"Partner plan Growth, {month} ({days} days)", prorated, month),
        ("partner_plan", f"Partner plan Growth, {following}", "500.00", following)]


async def test_a_partner_paid_channel_announced_after_its_start_month_was_closed_is_billed_its_missed_months_once(
        acme):
    """acmeCH0005 started March 10th but announced in April, after March was closed: the April close bills
    March prorated (22 of 31), April and May; the May close only June."""
    await acme.close("2026-03", ACME_MARCH)
    await acme.directory(channel("acmeCH0005", "bobCL", "acmePA", "2026-03-10T00:00:00Z", "regular"),
                         now="2026-04-05T00:00:00Z")
    april = await acme.close("2026-04", now=CLOSE_APRIL_AT)
    may = await acme.close("2026-05", now="2026-06-01T00:10:00Z")
    late = [[(x.code, x.service_month, str(x.amount)) for x in inv.lines if x.channel_id == "acmeCH0005"]
            for inv in april + may if inv.kind == "subscription"]
    assert late == [[("license_prorated", "2026-03", "17.74"), ("license", "2026-04", "25.00"),
                     ("license", "2026-05", "25.00")],
                    [("license", "2026-06", "25.00")]]
    assert april[0].lines[-3].description == "License regular, acmeCH0005, 2026-03 (22 of 31 days)"


async def test_a_direct_paid_channel_announced_late_gets_its_start_month_at_once_and_missed_months_at_the_next_close(
        globex):
    """globexCH0011 started March 10th, announced April 5th after March closed: license_prorated for March
    on arrival; the April close bills April and May on one license invoice; the May close only June."""
    await globex.close("2026-03", *GLOBEX_MARCH)
    [prorated] = await globex.directory(channel("globexCH0011", "initechCL", "globexPA", "2026-03-10T00:00:00Z"),
                                        now="2026-04-05T00:00:00Z")
    assert (prorated.kind, prorated.period, str(prorated.total)) == ("license_prorated", "2026-03", "21.11")
    april = [i for i in await globex.close("2026-04", now=CLOSE_APRIL_AT) if i.channel_id == "globexCH0011"]
    may = [i for i in await globex.close("2026-05", now="2026-06-01T00:10:00Z") if i.channel_id == "globexCH0011"]
    assert [(i.kind, i.period, [(x.code, x.service_month) for x in i.lines]) for i in april + may] == [
        ("license", "2026-05", [("license", "2026-04"), ("license", "2026-05")]),
        ("license", "2026-06", [("license", "2026-06")])]


# --- exactly once, numbers, rollback --------------------------------------------------------------


async def test_closing_a_closed_month_again_issues_nothing_new(acme):
    """A second month.close for March (another command id) records no close and queues nothing."""
    await acme.close("2026-03", ACME_MARCH)
    outbox, closes = list(acme.store.outbox), dict(acme.store.closes_rows)
    await acme.command("2026-03", "again-2026-03")
    acme.catch_up()
    await acme.advance()
    assert acme.store.outbox == outbox and acme.store.closes_rows == closes


async def test_a_ledger_answer_delivered_again_after_the_close_issues_nothing(acme):
    """The whole answer redelivered once March is done: the close is no longer waiting, nothing is issued."""
    await acme.command("2026-03")
    acme.catch_up()
    await acme.advance()
    batch = acme.answer("2026-03", ACME_MARCH)
    assert len(await acme.closed_batch(batch, CLOSE_MARCH_AT)) == 2
    assert await acme.closed_batch(batch, "2026-04-01T00:20:00Z") == []
    assert acme.store.numbers() == ["INV-2026-000001", "INV-2026-000002"]


async def test_invoice_numbers_have_no_gap_in_a_year_and_start_again_at_1_in_the_next(acme):
    """Two prepayments in December 2026, then December's close issued on January 1st 2027."""
    d = await acme.entries(entry("pay_1", "acmePA", "100.00", at="2026-12-30T08:00:00Z"),
                           entry("pay_2", "acmePA", "100.00", at="2026-12-31T08:00:00Z"), now="2026-12-31T08:00:05Z")
    j = await acme.close("2026-12", now="2027-01-01T00:10:00Z")
    k = await acme.entries(entry("pay_3", "acmePA", "100.00", at="2027-01-02T08:00:00Z"), now="2027-01-02T08:00:05Z")
    assert [(i.kind, i.number) for i in d + j + k] == [
        ("prepayment", "INV-2026-000001"), ("prepayment", "INV-2026-000002"),
        ("subscription", "INV-2027-000001"), ("month_closing", "INV-2027-000002"),
        ("prepayment", "INV-2027-000003")]
    assert acme.store.invoice_numbers == {2026: 2, 2027: 3}


async def test_a_store_failing_mid_close_rolls_everything_back_and_a_rerun_issues_the_same_invoices(acme):
    """The month closing's save fails after the subscription was saved: no invoice, number, billed item or
    closing is left; the redelivered answer then issues exactly what an unfailing close issues."""
    control = await world_with(*ACME_DIRECTORY)
    await control.entries(entry("pay_1", "acmePA", "100.00"))
    expected_invoices = published(await control.close("2026-03", ACME_MARCH))

    await acme.entries(entry("pay_1", "acmePA", "100.00"))
    await acme.command("2026-03")
    acme.catch_up()
    await acme.advance()
    batch = acme.answer("2026-03", ACME_MARCH)
    acme.store.fail_on = ("save_invoice", 3)  # the prepayment was the 1st, the subscription the 2nd
    outbox = list(acme.store.outbox)
    with pytest.raises(StoreFailure):
        await acme.closed_batch(batch, CLOSE_MARCH_AT)
    assert acme.uow.rolled_back == 1
    assert acme.store.numbers() == ["INV-2026-000001"] and acme.store.invoice_numbers == {2026: 1}
    assert acme.store.billed_rows == {} and acme.store.ledger_closings == {}
    assert acme.store.outbox == outbox and acme.state("2026-03") == "ledger"

    acme.store.fail_on = None
    assert published(await acme.closed_batch(batch, CLOSE_MARCH_AT)) == expected_invoices
    assert [i["number"] for i in expected_invoices] == ["INV-2026-000002", "INV-2026-000003"]
    await acme.finish_documents()
    assert acme.state("2026-03") == "done"


async def test_every_billed_item_points_at_the_invoice_that_billed_it(acme):
    """After the March close: the plan and every license month billed, each with its invoice id."""
    await acme.close("2026-03", ACME_MARCH)
    sub = invoice_id("subscription", "acmePA", "2026-04")
    assert acme.store.billed_rows == {
        ("plan", "acmePA", "2026-03"): sub, ("plan", "acmePA", "2026-04"): sub,
        ("license", "acmeCH0001", "2026-03"): sub, ("license", "acmeCH0001", "2026-04"): sub,
        ("license", "acmeCH0002", "2026-03"): sub, ("license", "acmeCH0002", "2026-04"): sub,
        ("license", "acmeCH0003", "2026-03"): sub}


# --- the close's barrier ---------------------------------------------------------------------------


async def test_a_close_request_records_the_end_of_the_statuses_and_payments_topics_at_that_moment(acme):
    """The barrier is where wa.message-status.v1 and billing.payments.v1 ended when the command was read."""
    await acme.command("2026-03")
    row = acme.store.closes_rows["2026-03"]
    assert (row.command_id, row.state, row.status_offsets, row.payment_offsets, row.priced_offsets) == (
        "close-2026-03", "barrier", {0: 10, 1: 4}, {0: 3}, None)


async def test_the_close_waits_until_usage_ingest_has_committed_every_status_published_before_the_command(acme):
    """Statuses published after the command do not hold it; one partition behind does."""
    await acme.command("2026-03")
    acme.offsets.set_end(MESSAGE_STATUS.name, {0: 50, 1: 40, 2: 9})  # published after the command
    acme.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 10, 1: 3})
    await acme.advance()
    await acme.advance()
    assert acme.state("2026-03") == "barrier" and "update_close" not in acme.store.calls
    acme.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 10, 1: 4})
    await acme.advance()
    assert acme.state("2026-03") == "debits" and acme.ledger_closes() == []


async def test_the_close_also_waits_until_usage_ingest_has_read_the_directory_and_rate_cards_up_to_the_command():
    """A status read before its channel or its rate card is held, and settled when ingest reads them: until
    ingest has committed the directory and rate cards as they ended at the command, the close waits."""
    w = await world_with(*ACME_DIRECTORY)
    w.offsets.set_end(DIRECTORY.name, {0: 6, 2: 1})
    w.offsets.set_end(RATECARDS.name, {0: 2})
    await w.command("2026-03")
    row = w.store.closes_rows["2026-03"]
    assert (row.directory_offsets, row.ratecard_offsets) == ({0: 6, 2: 1}, {0: 2})
    w.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 10, 1: 4})
    w.offsets.commit(INGEST, DIRECTORY.name, {0: 6})
    w.offsets.commit(INGEST, RATECARDS.name, {0: 2})
    await w.advance()
    assert w.state("2026-03") == "barrier"
    w.offsets.commit(INGEST, DIRECTORY.name, {0: 6, 2: 1})
    w.offsets.commit(INGEST, RATECARDS.name, {0: 1})
    await w.advance()
    assert w.state("2026-03") == "barrier"
    w.offsets.commit(INGEST, RATECARDS.name, {0: 2})
    await w.advance()
    assert w.state("2026-03") == "debits"


async def test_past_the_statuses_the_close_waits_until_balance_has_read_the_directory_up_to_the_command():
    """A payment read before the directory record that opened its balance is held until balance reads it."""
    w = await world_with(*ACME_DIRECTORY)
    w.offsets.set_end(DIRECTORY.name, {1: 5})
    await w.command("2026-03")
    w.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 10, 1: 4})
    w.offsets.commit(INGEST, DIRECTORY.name, {1: 5})
    await w.advance()
    w.offsets.commit(BALANCE, USAGE_PRICED.name, {0: 7})
    w.offsets.commit(BALANCE, PAYMENTS.name, {0: 3})
    w.offsets.commit(BALANCE, DIRECTORY.name, {1: 4})
    await w.advance()
    assert w.state("2026-03") == "debits" and w.ledger_closes() == []
    w.offsets.commit(BALANCE, DIRECTORY.name, {1: 5})
    await w.advance()
    assert w.state("2026-03") == "ledger"


async def test_an_empty_partition_at_the_barrier_needs_no_commit():
    """Partition 1 ended at 0 when the close was asked: nothing committed there is still caught up."""
    w = await world_with(*ACME_DIRECTORY)
    w.offsets.set_end(MESSAGE_STATUS.name, {0: 2, 1: 0})
    await w.command("2026-03")
    w.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 2})
    await w.advance()
    assert w.state("2026-03") == "debits"


async def test_past_the_statuses_the_close_waits_for_the_balance_group_on_priced_usage_and_payments(acme):
    """Priced usage up to where the topic ended when the statuses were caught up (not at the request), and
    payments up to the request's end, must be committed by balance before the ledger is asked."""
    await acme.command("2026-03")
    acme.offsets.set_end(USAGE_PRICED.name, {0: 9, 3: 2})  # priced after the command, before the barrier
    acme.offsets.commit(INGEST, MESSAGE_STATUS.name, {0: 10, 1: 4})
    await acme.advance()
    assert acme.store.closes_rows["2026-03"].priced_offsets == {0: 9, 3: 2}
    acme.offsets.set_end(USAGE_PRICED.name, {0: 90, 3: 20})  # priced later: not waited for
    acme.offsets.commit(BALANCE, USAGE_PRICED.name, {0: 7, 3: 2})
    acme.offsets.commit(BALANCE, PAYMENTS.name, {0: 3})
    await acme.advance()
    assert acme.state("2026-03") == "debits"
    acme.offsets.commit(BALANCE, USAGE_PRICED.name, {0: 9, 3: 2})
    acme.offsets.commit(BALANCE, PAYMENTS.name, {0: 2})
    await acme.advance()
    assert acme.state("2026-03") == "debits" and acme.ledger_closes() == []
    acme.offsets.commit(BALANCE, PAYMENTS.name, {0: 3})
    await acme.advance()
    assert acme.state("2026-03") == "ledger"


async def test_past_the_barrier_the_close_asks_the_ledger_once_and_waits_for_its_answer(acme):
    """One ledger.close keyed by the month with the command's id and the barrier's offsets (for a ledger that
    reads it again after a restore); advancing again asks nothing more and issues nothing."""
    await acme.command("2026-03", "ops-close-march")
    acme.catch_up()
    await acme.advance()
    await acme.advance()
    await acme.advance()
    barrier = {USAGE_PRICED.name: {0: 7}, PAYMENTS.name: {0: 3}, DIRECTORY.name: {}, BALANCE_CREDITS.name: {}}
    assert acme.ledger_closes() == [LedgerClose(type="ledger.close", close_id="ops-close-march", month="2026-03",
                                                barrier=barrier)]
    assert [r.key for r in acme.store.outbox if r.topic == LEDGER_CLOSE.name] == [b"2026-03"]
    assert acme.state("2026-03") == "ledger" and acme.issued() == []


async def test_a_ledger_closed_for_another_close_is_ignored_and_the_matching_one_issues_the_invoices(acme):
    """A stale answer (another close id) issues nothing and leaves the close waiting; the answer to the
    waiting close issues March's invoices and marks the close done."""
    await acme.command("2026-03")
    acme.catch_up()
    await acme.advance()
    stale = await acme.closed({**ACME_MARCH, "close_id": "close-from-a-lost-database"},
                              ledger_closed("close-from-a-lost-database", "2026-03", 1))
    assert stale == [] and acme.state("2026-03") == "ledger"
    issued = await acme.closed_batch(acme.answer("2026-03", ACME_MARCH), CLOSE_MARCH_AT)
    assert [(i.kind, i.period) for i in issued] == [("subscription", "2026-04"), ("month_closing", "2026-03")]
    await acme.finish_documents()
    assert acme.state("2026-03") == "done"
    assert acme.store.closes_rows["2026-03"].done_at == utc(CLOSE_MARCH_AT)


async def test_a_ledger_closed_counting_more_closings_than_were_received_issues_nothing_yet(acme):
    """ledger.closed says one balance, none arrived: the close keeps waiting; with the closing it issues."""
    await acme.command("2026-03")
    acme.catch_up()
    await acme.advance()
    assert await acme.closed(ledger_closed("close-2026-03", "2026-03", 1)) == []
    assert acme.state("2026-03") == "ledger"
    assert len(await acme.closed_batch(acme.answer("2026-03", ACME_MARCH), CLOSE_MARCH_AT)) == 2


async def test_a_close_request_while_the_first_close_is_pending_fills_the_months_in_between(acme):
    """No month done yet, March still closing: a close of May records April and May, none skipped."""
    await acme.command("2026-03")
    await acme.command("2026-05", "close-may")
    assert {m: (r.command_id, r.state) for m, r in acme.store.closes_rows.items()} == {
        "2026-03": ("close-2026-03", "barrier"), "2026-04": ("close-may", "barrier"),
        "2026-05": ("close-may", "barrier")}


async def test_a_close_request_two_months_ahead_closes_the_month_in_between_first(acme):
    """March done, a close of May: April and May are recorded; April is asked of the ledger first, and an
    answer for May is ignored until May's turn."""
    await acme.close("2026-03", ACME_MARCH)
    await acme.command("2026-05", "close-may")
    assert {m: (r.command_id, r.state) for m, r in acme.store.closes_rows.items()} == {
        "2026-03": ("close-2026-03", "done"), "2026-04": ("close-may", "barrier"),
        "2026-05": ("close-may", "barrier")}
    acme.catch_up()
    await acme.advance(CLOSE_APRIL_AT)
    await acme.advance(CLOSE_APRIL_AT)
    assert [c.month for c in acme.ledger_closes()] == ["2026-03", "2026-04"]
    assert (acme.state("2026-04"), acme.state("2026-05")) == ("ledger", "barrier")
    assert await acme.closed(ledger_closed("close-may", "2026-05", 0), now="2026-06-01T00:10:00Z") == []
    april = await acme.closed(ledger_closed("close-may", "2026-04", 0), now="2026-06-01T00:10:00Z")
    assert [(i.kind, i.period) for i in april] == [("subscription", "2026-05"), ("month_closing", "2026-04")]
    await acme.finish_documents("2026-06-01T00:10:00Z")
    await acme.advance("2026-06-01T00:10:00Z")
    assert [c.month for c in acme.ledger_closes()] == ["2026-03", "2026-04", "2026-05"]
    may = await acme.closed(ledger_closed("close-may", "2026-05", 0), now="2026-06-01T00:10:00Z")
    assert [(i.kind, i.period) for i in may] == [("subscription", "2026-06"), ("month_closing", "2026-05")]
    await acme.finish_documents("2026-06-01T00:10:00Z")
    assert acme.store.closes_rows["2026-05"].state == "done"


async def test_a_later_month_is_not_asked_of_the_ledger_while_an_earlier_one_waits(acme):
    """March waits for the ledger; April's barrier is passed but April stays in barrier until March is done."""
    await acme.command("2026-03")
    acme.catch_up()
    await acme.advance()
    await acme.command("2026-04")
    await acme.advance(CLOSE_APRIL_AT)
    assert (acme.state("2026-03"), acme.state("2026-04")) == ("ledger", "barrier")
    assert [c.month for c in acme.ledger_closes()] == ["2026-03"]


async def test_a_close_request_for_a_month_being_closed_or_before_the_last_closed_does_nothing(acme):
    """March in progress: another March command changes nothing; after March is done, February is refused."""
    await acme.command("2026-03", "first")
    await acme.command("2026-03", "second")
    assert acme.store.closes_rows["2026-03"].command_id == "first"
    acme.catch_up()
    await acme.advance()
    await acme.closed_batch(acme.answer("2026-03", ACME_MARCH), CLOSE_MARCH_AT)
    await acme.command("2026-02")
    assert sorted(acme.store.closes_rows) == ["2026-03"]


async def test_auto_close_requests_the_previous_month_only_once_the_grace_period_has_passed(acme):
    """Grace one hour: at 00:59:59 on April 1st nothing; at 01:00:00 a close of March."""
    await service.auto_close(acme.uow, acme.offsets, utc("2026-04-01T00:59:59Z"), 3600.0)
    assert acme.store.closes_rows == {}
    await service.auto_close(acme.uow, acme.offsets, utc("2026-04-01T01:00:00Z"), 3600.0)
    row = acme.store.closes_rows["2026-03"]
    assert (row.command_id, row.state, row.status_offsets) == ("auto-close-2026-03", "barrier", {0: 10, 1: 4})
    await service.auto_close(acme.uow, acme.offsets, utc("2026-04-20T00:00:00Z"), 3600.0)
    assert sorted(acme.store.closes_rows) == ["2026-03"]


async def test_auto_close_leaves_a_month_already_closing_or_closed_alone(acme):
    """March closed by an operator: the automatic close of March does nothing."""
    await acme.close("2026-03", ACME_MARCH)
    outbox = list(acme.store.outbox)
    await service.auto_close(acme.uow, acme.offsets, utc("2026-04-02T00:00:00Z"), 3600.0)
    assert sorted(acme.store.closes_rows) == ["2026-03"] and acme.store.outbox == outbox


# --- the directory ---------------------------------------------------------------------------------


async def test_a_repeated_partner_upserted_changing_model_or_currency_is_ignored_and_other_changes_are_kept(acme):
    """The change of model is skipped whole; a later repeat changes name, plan and address, never creation."""
    await acme.directory({**ACME, "billing_model": "direct_paid", "name": "Renamed GmbH"},
                         {**ACME, "currency": "USD"})
    assert acme.store.partners["acmePA"].name == "Acme Messaging GmbH"
    await acme.directory({**ACME, "name": "Acme Holding GmbH", "plan": "premium",
                          "created_at": "2026-01-01T00:00:00Z",
                          "billing_address": {"country": "AT", "vat_id": "ATU99999999"}})
    p = acme.store.partners["acmePA"]
    assert (p.name, p.plan, p.country, p.vat_id, p.billing_model, p.currency, p.created_at) == (
        "Acme Holding GmbH", "premium", "AT", "ATU99999999", "partner_paid", "EUR", utc("2026-03-15T10:00:00Z"))
