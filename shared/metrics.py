"""Prometheus metrics every service exposes on /metrics, in its own registry.

FastStream's middleware adds per-topic consumed/published counts and handler
durations (`billing_received_*`, `billing_published_*`); these are the
billing-specific ones on top. docs/observability.md explains each one, and
the dashboard and alert rules in deploy/observability/ use them by name (a
unit test keeps the three in step).

The business counters (usage priced, balance events, ledger entries,
invoices) are counted from what the outbox relay published, after the broker
acknowledged it: an event rolled back with its transaction is never counted.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = r = CollectorRegistry()
        self.service = service
        self.dead_letters = Counter(
            "billing_dead_letters_total", "Input records sent to a dead-letter topic.",
            ["service", "topic", "code"], registry=r)
        self.batch_size = Histogram(
            "billing_batch_records", "Records per consumed batch.", ["service", "topic"],
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000), registry=r)
        self.batch_seconds = Histogram(
            "billing_batch_seconds", "Time to screen and process one batch, before its offsets are committed.",
            ["service", "topic"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.batch_failures = Counter(
            "billing_batch_failures_total", "Batches rewound for redelivery after an error.",
            ["service", "topic"], registry=r)
        self.skipped = Counter(
            "billing_invalid_skipped_total",
            "Invalid records of a topic another service owns (and dead-letters), skipped here.",
            ["service", "topic"], registry=r)
        self.consumer_lag = Gauge(
            "billing_consumer_lag",
            "Records of a partition the service's consumer group has not committed yet (end offset minus "
            "committed offset), measured periodically; every instance reports the whole group.",
            ["service", "group", "topic", "partition"], registry=r)
        self.lag_measured = Gauge(
            "billing_consumer_lag_measured_timestamp_seconds", "When the consumer lag was last measured.",
            ["service"], registry=r)
        self.positions_lost = Gauge(
            "billing_stored_position_lost",
            "1 for a partition the service refuses to read: the position its database stored is outside the "
            "partition's log (deleted by retention, or the topic recreated); it would skip records.",
            ["service", "topic", "partition"], registry=r)
        self.outbox_pending = Gauge(
            "billing_outbox_pending", "Records in the service's outbox not published yet.", ["service"],
            registry=r)
        self.job_failures = Counter(
            "billing_background_job_failures_total", "Failed runs of a periodic job (sweeper, month closer, lag).",
            ["service", "job"], registry=r)
        self.usage_priced = Counter(
            "billing_usage_priced_total", "Charged messages priced and published for debiting (usage ingest).",
            ["service", "currency", "category", "billing_model"], registry=r)
        self.usage_amount = Counter(
            "billing_usage_priced_amount_total", "What the charged messages cost, in the currency's units.",
            ["service", "currency"], registry=r)
        self.balance_events = Counter(
            "billing_balance_events_total",
            "Balance events announced (balance.low, topup.requested, balance.depleted, balance.restored).",
            ["service", "type", "currency"], registry=r)
        self.ledger_entries = Counter(
            "billing_ledger_entries_total", "Payments and refunds the ledger accepted.",
            ["service", "kind", "currency"], registry=r)
        self.balances_closed = Counter(
            "billing_balance_closings_total", "Balances closed for a booking month (one per balance and month).",
            ["service"], registry=r)
        self.invoices = Counter(
            "billing_invoices_issued_total", "Invoices issued and published, per kind.",
            ["service", "kind", "billing_model", "currency"], registry=r)
        self.invoice_documents = Counter(
            "billing_invoice_documents_total", "Invoice documents stored and published, per format.",
            ["service", "format"], registry=r)
