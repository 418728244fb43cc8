"""What a service's outbox published, counted and logged.

The outbox relay calls `Published.observe` with the records the broker has
acknowledged, after their rows are deleted: each is counted in the business
metrics and logged with the ids that tie the steps together, so that one can
follow a message from its status to its debit and on to its invoice:

    usage ingest  "usage priced"     balance_id, message_ids (each = its usage_id)
    balance       "usage debited"    balance_id, message_ids (balance handlers)
    balance       "balance event"    event_id, type, balance_id
    balance       "ledger entry"     entry_id (payment_id / refund_id), balance_id
    balance       "balance closed"   balance_id, month
    invoicing     "invoice issued"   invoice_number, invoice_id, kind, balance_id (month-closing), period,
                                     corrects (a credit note: the invoice it corrects)
    invoicing     "invoice document published"   invoice_number, invoice_id, format, sha256, size
    invoicing     "balance credit"   credit_id (the credit note's invoice_id), number, balance_id

Charged messages are the volume: they are logged per balance and batch, with
their ids as a list (`message_ids`, at most `IDS_PER_LINE` a line, so that a
line stays below the 16 KiB at which container runtimes split lines). A line
per message would cost as much as the debit itself. Everything else is one
line per event.

Only ids and amounts are logged, never a payload: no phone number reaches a
log (`shared.logging` redacts the keys that could carry one anyway).
`BILLING_<SERVICE>_LOG_USAGE=false` turns the usage lines off (the counters stay).
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from structlog.stdlib import BoundLogger

from .contracts.light_usage import LightAccount
from .metrics import ServiceMetrics
from .outbox import OutboxRecord
from .topics import (BALANCE_CREDITS, BALANCE_EVENTS, INVOICE_DOCUMENTS, INVOICES, LEDGER_CLOSED, LEDGER_ENTRIES,
                     USAGE_PRICED)


IDS_PER_LINE = 100


class _Priced(msgspec.Struct):
    """What the counters and the usage lines read of a priced usage: a record per charged message, so
    it is decoded into these fields alone rather than into a whole dict (the relay's hot path)."""

    usage_id: str
    balance: LightAccount
    billing_model: str
    currency: str
    category: str
    amount: Decimal


_read_priced = msgspec.json.Decoder(_Priced).decode


def log_usage_lines(log: BoundLogger, event: str, usage: Iterable[tuple[str, str, str, Decimal]]) -> None:
    """One line per balance (and per `IDS_PER_LINE` ids) for (balance_id, message_id, currency, amount);
    a message twice in the batch (a redelivery) is listed and summed once."""
    by_balance: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for balance_id, message_id, currency, amount in usage:
        by_balance[(balance_id, currency)][message_id] = amount
    for (balance_id, currency), unique in by_balance.items():
        items = list(unique.items())
        for i in range(0, len(items), IDS_PER_LINE):
            chunk = items[i:i + IDS_PER_LINE]
            log.info(event, balance_id=balance_id, messages=len(chunk), currency=currency,
                     amount=str(sum((a for _, a in chunk), Decimal(0))), message_ids=[m for m, _ in chunk])


def owner_of(account: dict[str, Any]) -> str:
    """The balance id of a contract `account`/`balance` object: the partner or the channel."""
    return account.get("partner_id") or account.get("channel_id") or "?"


class Published:
    def __init__(self, metrics: ServiceMetrics, log: BoundLogger, log_usage: bool = True) -> None:
        self.metrics = metrics
        self.log = log
        self.log_usage = log_usage
        # labels() costs microseconds a call: one child per label set, kept.
        self._priced = lru_cache(maxsize=256)(
            lambda currency, category, model: (metrics.usage_priced.labels(metrics.service, currency, category, model),
                                               metrics.usage_amount.labels(metrics.service, currency)))
        self._by_topic = {
            BALANCE_EVENTS.name: self._balance_event,
            LEDGER_ENTRIES.name: self._ledger_entry,
            LEDGER_CLOSED.name: self._closing,
            INVOICES.name: self._invoice,
            INVOICE_DOCUMENTS.name: self._document,
            BALANCE_CREDITS.name: self._balance_credit,
        }

    def observe(self, records: Sequence[OutboxRecord]) -> None:
        usage: list[_Priced] = []
        for record in records:
            if record.topic == USAGE_PRICED.name:
                usage.append(_read_priced(record.value))
                continue
            handle = self._by_topic.get(record.topic)
            if handle is not None:
                handle(json.loads(record.value))
        if usage:
            self._count_usage(usage)
            if self.log_usage:
                log_usage_lines(self.log, "usage priced", (
                    (u.balance.owner_id, u.usage_id, u.currency, u.amount)
                    for u in usage))

    def _count_usage(self, usage: Sequence[_Priced]) -> None:
        """Each counter moved once per label set and batch, by the batch's messages and their sum."""
        sums: dict[tuple[str, str, str], list] = {}
        for u in usage:
            total = sums.setdefault((u.currency, u.category, u.billing_model), [0, Decimal(0)])
            total[0] += 1
            total[1] += u.amount
        for labels, (n, amount) in sums.items():
            count, amount_total = self._priced(*labels)
            count.inc(n)
            amount_total.inc(float(amount))

    def _balance_event(self, e: dict[str, Any]) -> None:
        self.metrics.balance_events.labels(self.metrics.service, e["type"], e["currency"]).inc()
        self.log.info("balance event", event_id=e["event_id"], type=e["type"], balance_id=owner_of(e["balance"]),
                      balance_amount=e["balance_amount"], currency=e["currency"],
                      channels=len(e.get("channel_ids") or ()), request_id=e.get("request_id"))

    def _ledger_entry(self, e: dict[str, Any]) -> None:
        self.metrics.ledger_entries.labels(self.metrics.service, e["kind"], e["currency"]).inc()
        self.log.info("ledger entry", entry_id=e["entry_id"], kind=e["kind"], balance_id=owner_of(e["balance"]),
                      amount=e["amount"], currency=e["currency"], booked_month=e["booked_month"],
                      balance_after=e["balance_after"], topup_request_id=e.get("topup_request_id"))

    def _closing(self, c: dict[str, Any]) -> None:
        if c.get("type") != "balance.closing":
            self.log.info("ledger closed", month=c["month"], close_id=c["close_id"], balances=c.get("balances"))
            return
        self.metrics.balances_closed.labels(self.metrics.service).inc()
        self.log.info("balance closed", balance_id=owner_of(c["balance"]), month=c["month"], close_id=c["close_id"],
                      usage=c["usage"], ending_balance=c["ending_balance"], currency=c["currency"])

    def _invoice(self, i: dict[str, Any]) -> None:
        self.metrics.invoices.labels(self.metrics.service, i["kind"], i["billing_model"], i["currency"]).inc()
        # The balance a month-closing invoice settles: the channel's (Direct-Paid) or the partner's.
        balance_id = (i.get("channel_id") or i["partner_id"]) if i["kind"] == "month_closing" else None
        self.log.info("invoice issued", invoice_number=i["number"], invoice_id=i["invoice_id"], kind=i["kind"],
                      balance_id=balance_id, billed_to=i["recipient"]["id"], partner_id=i["partner_id"],
                      channel_id=i.get("channel_id"), period=i["period"], total=i["total"],
                      currency=i["currency"], corrects=(i.get("corrects") or {}).get("number"))

    def _document(self, d: dict[str, Any]) -> None:
        self.metrics.invoice_documents.labels(self.metrics.service, d["format"]).inc()
        self.log.info("invoice document published", invoice_number=d["number"], invoice_id=d["invoice_id"],
                      format=d["format"], sha256=d["sha256"], size=d["size"])

    def _balance_credit(self, c: dict[str, Any]) -> None:
        self.log.info("balance credit", credit_id=c["credit_id"], number=c["number"],
                      balance_id=owner_of(c["balance"]), amount=c["amount"], currency=c["currency"])
