"""Every Kafka topic the platform uses, with its partition count.

The external topics are fixed by the contract (CONTRACT.md §2); the internal
ones are ours. Partition counts are chosen, not defaulted: they bound how many
instances of a consumer group can share the work, and a topic's key decides
which records keep their order. Counts can grow later, never shrink, and
growing one re-maps keys, so they start with headroom for the hot topics.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    external: bool
    key: str
    has_dlq: bool = False
    # The topic's max.message.bytes where records may exceed the broker's default of 1 MiB.
    max_message_bytes: int | None = None
    # A stream whose consumers' batches fill (one per status, one per charge): fetched with a short wait
    # (shared/kafka.py consumer_options).
    busy: bool = False

    @property
    def dlq(self) -> str:
        if not self.has_dlq:
            raise ValueError(f"{self.name} has no dead-letter topic")
        return f"{self.name}.dlq"


# Inputs from other systems: each has a .dlq twin (CONTRACT.md §3.8).
MESSAGE_STATUS = Topic("wa.message-status.v1", 12, True, "channel_id", has_dlq=True, busy=True)
DIRECTORY = Topic("billing.directory.v1", 3, True, "partner_id", has_dlq=True)
RATECARDS = Topic("billing.ratecards.v1", 1, True, "currency", has_dlq=True)
PAYMENTS = Topic("billing.payments.v1", 6, True, "balance owner id", has_dlq=True)
COMMANDS = Topic("billing.commands.v1", 1, True, "month", has_dlq=True)

# Outputs to other systems.
BALANCE_EVENTS = Topic("billing.balance-events.v1", 6, True, "balance owner id")
INVOICES = Topic("billing.invoices.v1", 6, True, "recipient id")

# Internal: priced usage, keyed by the balance it debits so that every debit
# of one balance is applied by one consumer, in order.
USAGE_PRICED = Topic("billing.internal.usage-priced.v1", 12, False, "balance id", has_dlq=True, busy=True)

# Internal, between balance and invoicing (shared/contracts/ledger.py).
LEDGER_ENTRIES = Topic("billing.internal.ledger-entries.v1", 6, False, "balance id", has_dlq=True)
LEDGER_CLOSE = Topic("billing.internal.ledger-close.v1", 1, False, "month", has_dlq=True)
# One partition: a close's balance.closing records, then its ledger.closed, in order.
LEDGER_CLOSED = Topic("billing.internal.ledger-closed.v1", 1, False, "month", has_dlq=True)

# Internal: credit notes settled to a prepaid balance, from invoicing to balance
# (shared/contracts/balance_credits.py), keyed by the balance they credit.
BALANCE_CREDITS = Topic("billing.internal.balance-credits.v1", 6, False, "balance id", has_dlq=True)

# Internal: every stored invoice document (PDF/A-3, CII, XRechnung), for those that serve them.
# A record carries a whole PDF (base64): a month-closing invoice of a large partner runs to pages.
INVOICE_DOCUMENTS = Topic("billing.internal.invoice-documents.v1", 6, False, "invoice id", has_dlq=True,
                          max_message_bytes=8 * 1024 * 1024)

# Internal, for the portal's read model: one compact record per balance (per channel, day and
# category) and batch, never per message (shared/contracts/balance_moves.py, usage_days.py).
BALANCE_MOVES = Topic("billing.internal.balance-moves.v1", 6, False, "balance id", has_dlq=True)
USAGE_DAYS = Topic("billing.internal.usage-days.v1", 6, False, "channel id", has_dlq=True)
# Internal: top-ups asked for in the portal, announced by balance as topup.requested.
TOPUP_REQUESTS = Topic("billing.internal.topup-requests.v1", 3, False, "balance id", has_dlq=True)
# Internal: each reconciliation run's result, for the finance view. One partition: runs in order.
RECONCILIATION = Topic("billing.internal.reconciliation.v1", 1, False, "reconciliation", has_dlq=True)

INPUT_TOPICS: tuple[Topic, ...] = (MESSAGE_STATUS, DIRECTORY, RATECARDS, PAYMENTS, COMMANDS)
ALL_TOPICS: tuple[Topic, ...] = (*INPUT_TOPICS, BALANCE_EVENTS, INVOICES, USAGE_PRICED, LEDGER_ENTRIES,
                                 LEDGER_CLOSE, LEDGER_CLOSED, INVOICE_DOCUMENTS, BALANCE_MOVES, USAGE_DAYS,
                                 TOPUP_REQUESTS, RECONCILIATION, BALANCE_CREDITS)

DLQ_PARTITIONS = 1


def topic_partitions() -> dict[str, int]:
    """Name → partition count of every topic the stack must create, DLQs included."""
    counts = {t.name: t.partitions for t in ALL_TOPICS}
    counts.update({t.dlq: DLQ_PARTITIONS for t in ALL_TOPICS if t.has_dlq})
    return counts


def topic_configs() -> dict[str, dict[str, str]]:
    """Name → the topic-level configuration of every topic that needs one."""
    return {t.name: {"max.message.bytes": str(t.max_message_bytes)} for t in ALL_TOPICS if t.max_message_bytes}
