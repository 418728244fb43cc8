"""The billing contract (CONTRACT.md v1) as pydantic models, and how to read and write them.

Services import from here: `decode`/`encode` for record values, the message
models to build what they publish, `DeadLetter.build` for refusals.
"""

from shared.contracts.balance_credits import BalanceCredit
from shared.contracts.balance_events import (
    BalanceDepleted,
    BalanceEvent,
    BalanceLow,
    BalanceRestored,
    TopupRequested,
)
from shared.contracts.balance_moves import BalanceMoved
from shared.contracts.base import (
    Amount,
    BillingModel,
    Category,
    ContractModel,
    CountryCode,
    Currency,
    Id,
    IsoDate,
    Month,
    Name,
    Rate,
    UnixSeconds,
    UtcDateTime,
    unix_seconds_to_utc,
)
from shared.contracts.commands import Command, CreditLine, InvoiceCredit, MonthClose, Settle
from shared.contracts.directory import (
    AutoRenewal,
    BillingAddress,
    ChannelAdded,
    ChannelCancelled,
    ClientUpserted,
    DirectoryEvent,
    License,
    PartnerUpserted,
    Plan,
)
from shared.contracts.documents import DocumentFormat, InvoiceDocument
from shared.contracts.dlq import ContractViolation, DeadLetter, DeadLetterError, DeadLetterSource, ErrorCode
from shared.contracts.invoices import (
    Corrects,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSummary,
    LineCode,
    Recipient,
    Tax,
    TaxTreatment,
)
from shared.contracts.payments import Account, PaymentEvent, PaymentMethod, PaymentSucceeded, RefundSucceeded
from shared.contracts.ratecards import RateCard, RateLine, TierLine
from shared.contracts.ledger import (BalanceClosing, LedgerClose, LedgerClosed, LedgerClosedEvent, LedgerEntry,
                                     PaymentLine, UsageLine)
from shared.contracts.usage_priced import PricedUsage
from shared.contracts.usage_days import UsageDay
from shared.contracts.topup_requests import TopupRequest
from shared.contracts.reconciliation import CheckResult, ReconciliationRan
from shared.contracts.registry import (ADAPTERS, DEFAULT_MAX_BYTES, adapter_for, decode, describe_errors, encode,
                                       read)
from shared.contracts.light_status import LightMessageStatus
from shared.contracts.light_usage import LightAccount, LightPricedUsage, LightUsageDay
from shared.contracts.status import Conversation, ConversationOrigin, MessageStatus, Pricing, Status

__all__ = [
    "ADAPTERS",
    "DEFAULT_MAX_BYTES",
    "Account",
    "Amount",
    "AutoRenewal",
    "BalanceCredit",
    "BalanceDepleted",
    "BalanceEvent",
    "BalanceLow",
    "BalanceMoved",
    "CheckResult",
    "ReconciliationRan",
    "TopupRequest",
    "UsageDay",
    "BalanceRestored",
    "BillingAddress",
    "BillingModel",
    "Category",
    "ChannelAdded",
    "ChannelCancelled",
    "ClientUpserted",
    "Command",
    "ContractModel",
    "ContractViolation",
    "Corrects",
    "CreditLine",
    "Conversation",
    "ConversationOrigin",
    "CountryCode",
    "Currency",
    "DeadLetter",
    "DeadLetterError",
    "DeadLetterSource",
    "DirectoryEvent",
    "DocumentFormat",
    "ErrorCode",
    "Id",
    "Invoice",
    "InvoiceCredit",
    "InvoiceDocument",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceSummary",
    "IsoDate",
    "License",
    "LineCode",
    "LightAccount",
    "LightMessageStatus",
    "LightPricedUsage",
    "LightUsageDay",
    "MessageStatus",
    "Month",
    "MonthClose",
    "Name",
    "PartnerUpserted",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentSucceeded",
    "PricedUsage",
    "BalanceClosing",
    "LedgerClose",
    "LedgerClosed",
    "LedgerClosedEvent",
    "LedgerEntry",
    "PaymentLine",
    "UsageLine",
    "Plan",
    "Pricing",
    "Rate",
    "Settle",
    "RateCard",
    "RateLine",
    "TierLine",
    "Recipient",
    "RefundSucceeded",
    "Status",
    "Tax",
    "TaxTreatment",
    "TopupRequested",
    "UnixSeconds",
    "UtcDateTime",
    "adapter_for",
    "decode",
    "describe_errors",
    "encode",
    "read",
    "unix_seconds_to_utc",
]
