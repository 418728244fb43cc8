"""The hot read answers as JSON bytes built straight from rows.

Byte for byte what the response models (api/models.py, the OpenAPI document's
schemas) write, without building and validating those models on every
request: that was a tenth of the portal's CPU per request in the profile.
tests/unit/portal/test_answers.py holds the two equal.
"""

import json
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from shared.money import plain

from ..domain.forecast import Forecast

# What pydantic's JSON writes: compact, UTF-8 as it is.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(answer: dict) -> bytes:
    return _encode(answer).encode()


def when(at: datetime | None) -> str | None:
    """A time as the models write it: ISO 8601, UTC as `Z`."""
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def money(amount: Decimal) -> str:
    return format(plain(amount), "f")


def owner(row: asyncpg.Record) -> dict:
    """The balance named as in payments' `account` (only the id it has)."""
    return {"partner_id": row["owner_id"]} if row["kind"] == "partner" else {"channel_id": row["owner_id"]}


def balance(row: asyncpg.Record) -> dict:
    return {"owner": owner(row), "currency": row["currency"], "amount": money(row["amount"]),
            "state": "active" if row["amount"] > 0 else "depleted", "updated_at": when(row["updated_at"]),
            "partner_id": row["partner_id"], "client_id": row["client_id"], "billing_model": row["billing_model"]}


def page(data: list, next_cursor: str | None, as_of: datetime | None) -> bytes:
    return dumps({"data": data, "next_cursor": next_cursor, "as_of": when(as_of)})


def forecast(row: asyncpg.Record, f: Forecast, first: date, last: date, as_of: datetime | None) -> bytes:
    return dumps({"owner": owner(row), "currency": row["currency"], "amount": money(row["amount"]),
                  "spend_per_day": money(f.spend_per_day) if f.spend_per_day is not None else None,
                  "zero_on": f.zero_on.isoformat() if f.zero_on else None, "window_start": first.isoformat(),
                  "window_end": last.isoformat(), "as_of": when(as_of)})


def usage_row(r: asyncpg.Record) -> dict:
    return {"channel_id": r["channel_id"], "client_id": r["client_id"], "category": r["category"],
            "day": r["day"].isoformat(), "charged_messages": r["charged"], "charged_amount": money(r["amount"]),
            "free_messages": r["free"], "currency": r["currency"]}


def invoices(bodies: list[bytes], next_cursor: str | None, as_of: datetime | None) -> bytes:
    """The §3.7 messages exactly as issued, spliced in rather than re-serialised."""
    tail = dumps({"next_cursor": next_cursor, "as_of": when(as_of)})
    return b'{"data":[' + b",".join(bodies) + b"]," + tail[1:]
