"""The ledger's records: a balance, and the immutable entries that move it."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .crossings import Renewal


@dataclass(frozen=True, slots=True)
class BalanceState:
    owner_id: str
    kind: str
    partner_id: str
    client_id: str | None
    billing_model: str
    currency: str
    amount: Decimal
    renewal: Renewal | None
    topup_request_id: str | None
    topup_requested_at: datetime | None
    events_issued: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One immutable ledger movement; `amount` is signed (credits positive, debits negative)."""

    kind: str  # usage | payment | refund | credit
    business_id: str
    owner_id: str
    amount: Decimal
    occurred_at: datetime
    booked_month: str
    channel_id: str | None = None
    client_id: str | None = None
    category: str | None = None
    method: str | None = None
    topup_request_id: str | None = None
    tier_from: int | None = None  # usage priced in a volume-tier band: the band's `from`
