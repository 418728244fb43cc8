"""The base model and the value types every contract message is built from.

The wire rules of CONTRACT.md §2 live here once, so that no message can get
them subtly different: amounts are decimal strings and never JSON numbers,
times are RFC 3339 and end up in UTC, months are "YYYY-MM". The custom types
check JSON input themselves (a plain validator) because pydantic's lax mode
would otherwise accept `25` for a Decimal or a UNIX number for a datetime.
Patterns use `[0-9]`, not `\\d`, which also matches non-ASCII digits.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, PlainSerializer, PlainValidator, StringConstraints,
                      WithJsonSchema)
from pydantic_core import PydanticCustomError


class ContractModel(BaseModel):
    """Base of every contract message: immutable, and tolerant of fields added later."""

    # extra="allow" (not "ignore") so that a message re-published or dead-lettered
    # keeps the fields a newer producer added (§2 forward compatibility).
    model_config = ConfigDict(extra="allow", frozen=True)


def absent_when_none(value: object) -> bool:
    """For `Field(exclude_if=...)`: the field is written only when it has a value."""
    # Used where the contract shows a field left out rather than null, so output matches its examples.
    return value is None


# Bounded so that a hostile value cannot make Decimal arithmetic expensive.
_AMOUNT_MAX_CHARS = 40
_AMOUNT_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_RATE_PATTERN = r"^[0-9]+(\.[0-9]{1,6})?$"
_RATE_MAX_DECIMALS = 6


def _to_amount(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        # Python callers may pass a Decimal; it must still be writable as a plain string.
        if not value.is_finite():
            raise PydanticCustomError("amount", "Amount must be a finite decimal")
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("amount_type", 'Amount must be a JSON string such as "25.00", never a number')
    if len(value) > _AMOUNT_MAX_CHARS or not _AMOUNT_RE.fullmatch(value):
        raise PydanticCustomError("amount", 'Amount must be a decimal string with a dot, such as "25.00"')
    return Decimal(value)


def _to_rate(value: Any) -> Decimal:
    rate = _to_amount(value)
    if rate < 0:
        raise PydanticCustomError("rate", "Rate must not be negative")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_RATE_MAX_DECIMALS:
        raise PydanticCustomError("rate", "Rate must have at most 6 decimal places")
    return rate


def _amount_to_str(value: Decimal) -> str:
    # "f" keeps the written scale ("25.00") and never switches to exponent form.
    return format(value, "f")


Amount = Annotated[
    Decimal,
    PlainValidator(_to_amount),
    PlainSerializer(_amount_to_str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT_PATTERN, "maxLength": _AMOUNT_MAX_CHARS}),
]
"""A decimal given as a JSON string with a dot; serialised back as the same string."""

def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PydanticCustomError("amount_positive", "Amount must be positive")
    return value


PositiveAmount = Annotated[Amount, AfterValidator(_positive)]
"""An Amount above zero (credits; payments take any amount and refuse with a business code instead)."""

Rate = Annotated[
    Decimal,
    PlainValidator(_to_rate),
    PlainSerializer(_amount_to_str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _RATE_PATTERN, "maxLength": _AMOUNT_MAX_CHARS}),
]
"""An Amount that is not negative and has at most 6 decimal places."""


# RFC 3339 §5.6 only; fromisoformat alone would also take "2026-10-17" or a space separator.
_RFC3339_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _to_utc_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        if not _RFC3339_RE.fullmatch(value):
            raise PydanticCustomError(
                "utc_datetime", "Datetime must be RFC 3339 with a timezone, such as 2026-10-17T09:30:00Z"
            )
        try:
            value = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise PydanticCustomError(
                "utc_datetime", "Datetime is out of range: {error}", {"error": str(exc)}
            ) from exc
    if not isinstance(value, datetime):
        raise PydanticCustomError("utc_datetime_type", "Datetime must be an RFC 3339 string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("utc_datetime_naive", "Datetime must carry a timezone")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        # 0001-01-01T00:00:00+01:00 is a valid RFC 3339 time whose UTC falls before year 1: refused as out of
        # range rather than raised, which would stop the consumer instead of dead-lettering the record.
        raise PydanticCustomError(
            "utc_datetime", "Datetime is out of range: {error}", {"error": str(exc)}
        ) from exc


def _utc_to_str(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainValidator(_to_utc_datetime),
    PlainSerializer(_utc_to_str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An RFC 3339 datetime with a timezone, held in UTC and written with "Z"."""

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _to_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise PydanticCustomError("iso_date", "Date must be a string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError("iso_date", "Date is out of range: {error}", {"error": str(exc)}) from exc


IsoDate = Annotated[
    date,
    PlainValidator(_to_date),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A calendar date written "YYYY-MM-DD"."""

Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
"""A calendar month in UTC, written "YYYY-MM"."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""An ISO 3166-1 alpha-2 country code (two uppercase letters)."""

# 11 digits reach the year 5138, far enough, and keep the conversion in range.
UnixSeconds = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,11}$")]
"""A UNIX time in whole seconds, as a string of digits (the way Meta sends it)."""


@lru_cache(maxsize=4096)
def unix_seconds_to_utc(value: str) -> datetime:
    """The UTC datetime of a UnixSeconds string."""
    # Cached: it runs for every status, the statuses of a batch share their few seconds, and a cache hit
    # costs a small fraction of the conversion.
    return datetime.fromtimestamp(int(value), tz=UTC)


# Ids are opaque to billing: the PA/CL/CH suffixes are a Hub convention, not checked.
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""An opaque identifier (partner, client, channel, payment, ...)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=512)]
"""A human-readable name shown on invoices."""

Currency = Literal["EUR", "USD"]
BillingModel = Literal["partner_paid", "direct_paid"]
Category = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Meta's pricing category (§3.1): `marketing`, `marketing_lite`, `utility`, `authentication`,
`authentication-international`, `service`, `referral_conversion`, `group_marketing`, `group_utility`,
`group_service`, and any Meta adds later. Shared by statuses, rate cards, priced usage, ledger and invoice
lines; a category no rate card prices is a pricing question (`no_rate`), never a malformed message."""
