"""What a service's outbox published, counted and logged.

The outbox relay calls `Published.observe` with the records the broker has
acknowledged, after their rows are deleted: each is counted in the business
metrics and logged with the ids that tie the steps together, so that one can
follow a message from its status to its debit and on to its invoice:

    usage ingest  "usage priced"     message_id = usage_id, balance_id, channel_id
    balance       "usage debited"    usage_id, balance_id (balance handlers)
    balance       "balance event"    event_id, type, balance_id
    balance       "ledger entry"     entry_id (payment_id / refund_id), balance_id
    balance       "balance closed"   balance_id, month
    invoicing     "invoice issued"   invoice_number, invoice_id, kind, balance_id (month-closing), period

Only ids and amounts are logged, never a payload: no phone number reaches a
log (`shared.logging` redacts the keys that could carry one anyway). A usage
line per charged message is the audit trail of money and is on by default;
`BILLING_<SERVICE>_LOG_USAGE=false` turns the per-message lines off at very
high volume (the counters stay).
"""

import json
from collections.abc import Sequence
from typing import Any

from structlog.stdlib import BoundLogger

from .metrics import ServiceMetrics
from .outbox import OutboxRecord
from .topics import BALANCE_EVENTS, INVOICES, LEDGER_CLOSED, LEDGER_ENTRIES, USAGE_PRICED


def owner_of(account: dict[str, Any]) -> str:
    """The balance id of a contract `account`/`balance` object: the partner or the channel."""
    return account.get("partner_id") or account.get("channel_id") or "?"


class Published:
    def __init__(self, metrics: ServiceMetrics, log: BoundLogger, log_usage: bool = True) -> None:
        self.metrics = metrics
        self.log = log
        self.log_usage = log_usage
        self._by_topic = {
            USAGE_PRICED.name: self._usage,
            BALANCE_EVENTS.name: self._balance_event,
            LEDGER_ENTRIES.name: self._ledger_entry,
            LEDGER_CLOSED.name: self._closing,
            INVOICES.name: self._invoice,
        }

    def observe(self, records: Sequence[OutboxRecord]) -> None:
        for record in records:
            handle = self._by_topic.get(record.topic)
            if handle is not None:
                handle(json.loads(record.value))

    def _usage(self, u: dict[str, Any]) -> None:
        m, service = self.metrics, self.metrics.service
        m.usage_priced.labels(service, u["currency"], u["category"], u["billing_model"]).inc()
        m.usage_amount.labels(service, u["currency"]).inc(float(u["amount"]))
        if self.log_usage:
            self.log.info("usage priced", message_id=u["usage_id"], usage_id=u["usage_id"],
                          balance_id=owner_of(u["balance"]), channel_id=u["channel_id"],
                          partner_id=u["partner_id"], category=u["category"], amount=u["amount"],
                          currency=u["currency"], ratecard_id=u["ratecard_id"], usage_month=u["usage_month"])

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
                      currency=i["currency"])
