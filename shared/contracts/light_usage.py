"""`billing.internal.usage-priced.v1` (and `usage-days.v1`) as light structures, for the hot path.

Usage ingest builds a `LightPricedUsage` per charged message without model
validation (its fields come from the directory, the rate book and a checked
status) and `to_json` writes it with exactly the bytes `encode(PricedUsage(...))`
writes. Balance reads records straight from bytes into the same structure, with
the constraints of `usage_priced.PricedUsage`; whatever the fast path does not
accept is decided by the pydantic model (registry.read), so refusals and their
dead-letter codes stay those of the model. A `LightUsageDay` is written the same
way, with the bytes of `encode(UsageDay(...))`.
"""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from shared.contracts.base import _amount_to_str, _to_amount, _to_rate, _to_utc_datetime, _utc_to_str
from shared.contracts.usage_priced import PricedUsage

_Id = Annotated[str, Meta(min_length=1, max_length=128)]
_COUNTRY = re.compile(r"[A-Z]{2}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


class LightAccount(Struct, frozen=True):
    """The balance to debit: exactly one of the partner's and the channel's."""

    partner_id: _Id | None = None
    channel_id: _Id | None = None

    @property
    def owner_id(self) -> str:
        owner = self.partner_id if self.partner_id is not None else self.channel_id
        assert owner is not None  # one of them, checked when read
        return owner


class LightPricedUsage(Struct, frozen=True, kw_only=True):
    """A charged message and what it costs, with the same field names and value types as `PricedUsage`."""

    usage_id: str
    balance: LightAccount
    partner_id: str
    client_id: str
    channel_id: str
    billing_model: str
    currency: str
    category: str
    pricing_model: str
    conversation_id: str | None = None
    country: str | None = None
    market: str
    ratecard_id: str
    rate: Decimal
    tier_from: int | None = None
    amount: Decimal
    billed_at: datetime
    usage_month: str


class _Wire(Struct, kw_only=True):
    # What msgspec can check of a record; amounts and times stay text until `_read` checks them.
    usage_id: Annotated[str, Meta(min_length=1, max_length=320)]
    balance: LightAccount
    partner_id: _Id
    client_id: _Id
    channel_id: _Id
    billing_model: Literal["partner_paid", "direct_paid"]
    currency: Literal["EUR", "USD"]
    category: Annotated[str, Meta(min_length=1, max_length=64)]
    pricing_model: Literal["PMP", "CBP"]
    conversation_id: str | None = None
    country: str | None = None
    market: str
    ratecard_id: _Id
    rate: str
    tier_from: Annotated[int, Meta(ge=0)] | None = None
    amount: str
    billed_at: str
    usage_month: str


_DECODER = msgspec.json.Decoder(_Wire)


def read(value: bytes) -> LightPricedUsage | None:
    """The priced usage in `value`, or None when the model has to decide (it may refuse it)."""
    try:
        w = _DECODER.decode(value)
        b = w.balance
        if (b.partner_id is None) == (b.channel_id is None):
            return None
        if w.country is not None and not _COUNTRY.fullmatch(w.country):
            return None
        if not _MONTH.fullmatch(w.usage_month):
            return None
        return LightPricedUsage(
            usage_id=w.usage_id, balance=b, partner_id=w.partner_id, client_id=w.client_id,
            channel_id=w.channel_id, billing_model=w.billing_model, currency=w.currency, category=w.category,
            pricing_model=w.pricing_model, conversation_id=w.conversation_id, country=w.country, market=w.market,
            ratecard_id=w.ratecard_id, rate=_to_rate(w.rate), tier_from=w.tier_from, amount=_to_amount(w.amount),
            billed_at=_to_utc_datetime(w.billed_at), usage_month=w.usage_month)
    except Exception:  # noqa: BLE001 - anything unusual is the model's to judge, with its own error
        return None


def light_of(model: PricedUsage) -> LightPricedUsage:
    """The light structure of a record the model accepted but the fast path did not."""
    b = model.balance
    return LightPricedUsage(
        usage_id=model.usage_id, balance=LightAccount(b.partner_id, b.channel_id), partner_id=model.partner_id,
        client_id=model.client_id, channel_id=model.channel_id, billing_model=model.billing_model,
        currency=model.currency, category=model.category, pricing_model=model.pricing_model,
        conversation_id=model.conversation_id, country=model.country, market=model.market,
        ratecard_id=model.ratecard_id, rate=model.rate, tier_from=model.tier_from, amount=model.amount,
        billed_at=model.billed_at, usage_month=model.usage_month)


_ENCODER = msgspec.json.Encoder()


def to_json(u: LightPricedUsage) -> bytes:
    """The record value, byte for byte what `encode(PricedUsage(...))` writes for the same values."""
    b = u.balance
    balance = {"partner_id": b.partner_id} if b.channel_id is None else (
        {"channel_id": b.channel_id} if b.partner_id is None else
        {"partner_id": b.partner_id, "channel_id": b.channel_id})
    doc = {"usage_id": u.usage_id, "balance": balance, "partner_id": u.partner_id, "client_id": u.client_id,
           "channel_id": u.channel_id, "billing_model": u.billing_model, "currency": u.currency,
           "category": u.category, "pricing_model": u.pricing_model, "conversation_id": u.conversation_id,
           "country": u.country, "market": u.market, "ratecard_id": u.ratecard_id, "rate": _amount_to_str(u.rate)}
    if u.tier_from is not None:  # absent rather than null (exclude_if in the model)
        doc["tier_from"] = u.tier_from
    doc["amount"] = _amount_to_str(u.amount)
    doc["billed_at"] = _utc_to_str(u.billed_at)
    doc["usage_month"] = u.usage_month
    return _ENCODER.encode(doc)


class LightUsageDay(Struct, frozen=True, kw_only=True):
    """A (channel, day, category)'s running totals, with the same field names and value types as `UsageDay`."""

    usage_day_id: str
    channel_id: str
    client_id: str
    partner_id: str
    billing_model: str
    currency: str
    day: date
    category: str
    charged: int
    free: int
    amount: Decimal
    version: int


def usage_day_json(d: LightUsageDay) -> bytes:
    """The record value, byte for byte what `encode(UsageDay(...))` writes for the same values."""
    return _ENCODER.encode({
        "usage_day_id": d.usage_day_id, "channel_id": d.channel_id, "client_id": d.client_id,
        "partner_id": d.partner_id, "billing_model": d.billing_model, "currency": d.currency,
        "day": d.day.isoformat(), "category": d.category, "charged": d.charged, "free": d.free,
        "amount": _amount_to_str(d.amount), "version": d.version})
