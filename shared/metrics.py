"""Prometheus metrics every service exposes on /metrics, in its own registry.

FastStream's middleware adds per-topic consumed/published counts and handler
durations; these are the billing-specific ones on top.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.dead_letters = Counter(
            "billing_dead_letters_total", "Input records sent to a dead-letter topic.",
            ["service", "topic", "code"], registry=self.registry)
        self.batch_size = Histogram(
            "billing_batch_records", "Records per consumed batch.", ["service", "topic"],
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000), registry=self.registry)
        self.batch_seconds = Histogram(
            "billing_batch_seconds", "Time to screen and process one batch, before its offsets are committed.", ["service", "topic"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry)
        self.batch_failures = Counter(
            "billing_batch_failures_total", "Batches rewound for redelivery after an error.",
            ["service", "topic"], registry=self.registry)
        self.skipped = Counter(
            "billing_invalid_skipped_total",
            "Invalid records of a topic another service owns (and dead-letters), skipped here.",
            ["service", "topic"], registry=self.registry)
        self.service = service
