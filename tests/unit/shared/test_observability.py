"""Business metrics and correlation logs come from what the outbox published; lag and reconciliation are gauges."""

import json
from contextlib import asynccontextmanager
from decimal import Decimal

from aiokafka import TopicPartition

from ops.reconcile import Check
from shared.contracts import decode
from ops.reconcile_metrics import ReconcileMetrics, slug
from shared.lag import lag_of
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRecord, OutboxRelay
from shared.published import IDS_PER_LINE, Published, log_usage_lines
from shared.topics import BALANCE_EVENTS, INVOICES, LEDGER_CLOSED, LEDGER_ENTRIES, USAGE_PRICED
from tests.examples import BALANCE_DEPLETED, INVOICE

PRICED = {"usage_id": "wamid.HBgLNDkx=", "balance": {"partner_id": "acmePA"}, "partner_id": "acmePA",
          "client_id": "bobCL", "channel_id": "acmeCH0001", "billing_model": "partner_paid", "currency": "EUR",
          "category": "marketing", "pricing_model": "PMP", "conversation_id": None, "country": "DE",
          "market": "Germany", "ratecard_id": "meta-2026-10-EUR", "rate": "0.1131", "amount": "0.1131",
          "billed_at": "2026-10-20T10:15:00Z", "usage_month": "2026-10"}
ENTRY = {"entry_id": "pay_7Hq2", "kind": "payment", "balance": {"channel_id": "globexCH0007"},
         "partner_id": "globexPA", "client_id": "aliceCL", "channel_id": "globexCH0007",
         "billing_model": "direct_paid", "currency": "USD", "amount": "50.00", "method": "card",
         "occurred_at": "2026-10-18T08:00:00Z", "booked_month": "2026-10", "topup_request_id": None,
         "balance_after": "50.00"}
CLOSING = {"type": "balance.closing", "close_id": "close-2026-10", "month": "2026-10",
           "balance": {"partner_id": "acmePA"}, "partner_id": "acmePA", "client_id": None,
           "billing_model": "partner_paid", "currency": "EUR", "starting_balance": "0.00", "added_funds": "100.00",
           "usage": "0.1131", "refunds": "0.00", "ending_balance": "99.8869", "usage_lines": [], "payments": []}


class Lines:
    """A logger that keeps what it was asked to log."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def info(self, event: str, **fields) -> None:
        self.lines.append((event, fields))


def record(topic: str, body: dict) -> OutboxRecord:
    return OutboxRecord(topic, b"k", json.dumps(body).encode())


def value(metrics: ServiceMetrics, name: str, **labels) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_priced_usage_is_counted_by_category_and_logged_per_balance_with_the_ids_that_lead_to_its_debit():
    """usage priced: one line per balance of the batch, with its message ids (= usage ids, the debits'
    ids), how many and what they cost; the counters count each message and sum the amounts."""
    metrics, log = ServiceMetrics("usage-ingest"), Lines()
    other = {**PRICED, "usage_id": "wamid.other=", "balance": {"channel_id": "globexCH0007"}}
    Published(metrics, log).observe([record(USAGE_PRICED.name, PRICED), record(USAGE_PRICED.name, other),
                                     record(USAGE_PRICED.name, {**PRICED, "usage_id": "wamid.second="})])
    assert value(metrics, "billing_usage_priced_total", service="usage-ingest", currency="EUR",
                 category="marketing", billing_model="partner_paid") == 3
    assert abs(value(metrics, "billing_usage_priced_amount_total", service="usage-ingest", currency="EUR")
               - 0.3393) < 1e-9
    assert [(e, f["balance_id"], f["message_ids"], f["messages"], f["amount"]) for e, f in log.lines] == [
        ("usage priced", "acmePA", ["wamid.HBgLNDkx=", "wamid.second="], 2, "0.2262"),
        ("usage priced", "globexCH0007", ["wamid.other="], 1, "0.1131")]


def test_a_balance_with_many_messages_in_a_batch_gets_lines_of_at_most_a_hundred_ids():
    """Lines stay short enough for container runtimes, which split lines over 16 KiB."""
    log = Lines()
    log_usage_lines(log, "usage debited", [("acmePA", f"wamid.{i:060d}", "EUR", Decimal("0.1")) for i in range(250)])
    assert [f["messages"] for _, f in log.lines] == [IDS_PER_LINE, IDS_PER_LINE, 50]
    assert max(len(json.dumps(f)) for _, f in log.lines) < 16 * 1024


def test_a_message_redelivered_within_a_batch_is_listed_and_summed_once():
    """The ids say which messages the batch carried; a duplicate debits once, and is counted once here."""
    log = Lines()
    log_usage_lines(log, "usage debited", [("acmePA", "wamid.a", "EUR", Decimal("0.1131"))] * 2)
    assert [(f["message_ids"], f["amount"]) for _, f in log.lines] == [(["wamid.a"], "0.1131")]


def test_per_message_usage_lines_can_be_turned_off_and_the_counters_stay():
    """log_usage=False: no usage line, still counted."""
    metrics, log = ServiceMetrics("usage-ingest"), Lines()
    Published(metrics, log, log_usage=False).observe([record(USAGE_PRICED.name, PRICED)])
    assert log.lines == []
    assert value(metrics, "billing_usage_priced_total", service="usage-ingest", currency="EUR",
                 category="marketing", billing_model="partner_paid") == 1


def test_balance_events_ledger_entries_and_closings_are_counted_and_logged_by_balance_id():
    """balance.depleted per type and currency; a payment per kind; a closing ties the balance to its month."""
    metrics, log = ServiceMetrics("balance"), Lines()
    Published(metrics, log).observe([record(BALANCE_EVENTS.name, BALANCE_DEPLETED), record(LEDGER_ENTRIES.name, ENTRY),
                                     record(LEDGER_CLOSED.name, CLOSING)])
    assert value(metrics, "billing_balance_events_total", service="balance", type="balance.depleted",
                 currency="EUR") == 1
    assert value(metrics, "billing_ledger_entries_total", service="balance", kind="payment", currency="USD") == 1
    assert value(metrics, "billing_balance_closings_total", service="balance") == 1
    by_event = {e: f for e, f in log.lines}
    assert by_event["balance event"]["balance_id"] == "acmePA"
    assert by_event["balance event"]["event_id"] == BALANCE_DEPLETED["event_id"]
    assert by_event["ledger entry"]["balance_id"] == "globexCH0007"
    assert (by_event["balance closed"]["balance_id"], by_event["balance closed"]["month"]) == ("acmePA", "2026-10")


def test_an_invoice_is_counted_by_kind_and_logged_with_its_number_and_never_its_recipients_address():
    """invoice issued: number, id, kind, period; a month-closing invoice names the balance it settles."""
    metrics, log = ServiceMetrics("invoicing"), Lines()
    closing = {**INVOICE, "kind": "month_closing", "number": "INV-2026-000043"}
    Published(metrics, log).observe([record(INVOICES.name, INVOICE), record(INVOICES.name, closing)])
    assert value(metrics, "billing_invoices_issued_total", service="invoicing", kind=INVOICE["kind"],
                 billing_model=INVOICE["billing_model"], currency=INVOICE["currency"]) == 1
    first, second = (f for _, f in log.lines)
    assert first["invoice_number"] == INVOICE["number"] and first["balance_id"] is None
    assert second["balance_id"] == INVOICE["partner_id"] and second["period"] == INVOICE["period"]
    assert "recipient" not in first and "vat_id" not in json.dumps(first)


def test_the_example_records_are_what_the_services_publish():
    """The dicts above pass the internal topics' contract models, so the observer reads real fields."""
    for topic, body in ((USAGE_PRICED, PRICED), (LEDGER_ENTRIES, ENTRY), (LEDGER_CLOSED, CLOSING)):
        decode(topic.name, json.dumps(body).encode())


def test_records_of_other_topics_are_ignored():
    """A ledger-close command or a DLQ record is neither counted nor logged here."""
    metrics, log = ServiceMetrics("invoicing"), Lines()
    Published(metrics, log).observe([OutboxRecord("billing.internal.ledger-close.v1", b"m", b"{}")])
    assert log.lines == []


async def test_the_relay_hands_what_it_published_to_its_observer_after_the_commit():
    """on_published sees the records once the broker acknowledged them and their rows are deleted."""
    calls: list[str] = []
    rows = [{"id": 1, "topic": "t", "key": b"k", "value": b"{}"}]

    class Conn:
        async def fetch(self, *_):
            return rows if not calls else []

        async def execute(self, sql, *_):
            calls.append("deleted")

        @asynccontextmanager
        async def transaction(self):
            yield
            calls.append("committed")

    class Pool:
        @asynccontextmanager
        async def acquire(self):
            yield Conn()

    async def publish(records):
        return [None for _ in records]

    seen: list[list[OutboxRecord]] = []
    relay = OutboxRelay(lambda: Pool(), publish,
                        on_published=lambda records: (seen.append(list(records)), calls.append("observed")))
    assert await relay.relay_once() == 1
    assert calls == ["deleted", "committed", "observed"]
    assert seen == [[OutboxRecord("t", b"k", b"{}")]]


def test_lag_is_the_end_offset_minus_the_committed_one_and_a_partition_never_committed_lags_by_all():
    """Per partition; never negative."""
    a, b, c = (TopicPartition("wa.message-status.v1", p) for p in range(3))
    assert lag_of({a: 100, b: 50, c: 7}, {a: 90, b: 60}) == {a: 10, b: 0, c: 7}


def test_the_reconciliation_is_one_gauge_per_check_and_the_time_of_its_last_run():
    """check_ok is 1 or 0 per invariant, problems counts them, last_run moves."""
    metrics = ReconcileMetrics()
    metrics.record([Check("every balance equals the sum of its ledger entries"),
                    Check("invoice numbers per year have no gap and no repeat", ["2026: missing [7]"])], 0.5)
    get = metrics.registry.get_sample_value
    assert get("billing_reconcile_check_ok", {"check": "every_balance_equals_the_sum_of_its_ledger_entries"}) == 1
    gapless = slug("invoice numbers per year have no gap and no repeat")
    assert get("billing_reconcile_check_ok", {"check": gapless}) == 0
    assert get("billing_reconcile_problems", {"check": gapless}) == 1
    assert get("billing_reconcile_last_run_timestamp_seconds") > 0
