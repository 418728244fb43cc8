"""The hottest reads, answered without FastAPI's routing, dependency solving and middleware.

A request passed through some twenty framework layers, and every await in
it (one per round trip to PostgreSQL) resumed all of them: in the profile
that cost the portal more CPU than its queries. `PortalApi` answers a plain
GET of /v1/balances, /v1/balances/{id}, /v1/balances/{id}/forecast,
/v1/usage and /v1/invoices itself, with the routes' own functions: the same
key lookup, queries, principal and row-level security, the same bytes and
headers. Anything else (another method or path, an unknown, repeated or
empty parameter, a value the route might refuse, a missing or unknown key,
an answer other than 200) goes on to FastAPI, whose routes answer it and own
every error.
"""

import re
from collections.abc import Awaitable, Callable
from typing import get_args
from urllib.parse import parse_qsl

from fastapi import FastAPI

from ..domain.cursors import DEFAULT_LIMIT, MAX_LIMIT
from ..domain.principals import Principal
from .answers import when
from .balances import CURSOR_MAX, balance_forecast, balances_page, one_balance
from .context import Context, principal_of
from .errors import ApiError
from .invoices import Kind, invoices_page
from .usage import CHANNEL_MAX, usage_page

Answer = Callable[[Context, Principal], Awaitable[bytes]]
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_KINDS = frozenset(get_args(Kind))


def _params(query: bytes, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query's parameters when each is known, given once and surely valid; else None."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):  # as Starlette reads it
        if name not in allowed or name in found or not value:
            return None
        found[name] = value
    limit, cursor = found.get("limit"), found.get("cursor")
    if limit is not None and not (_LIMIT.fullmatch(limit) and int(limit) <= MAX_LIMIT):
        return None
    if (cursor is not None and len(cursor) > CURSOR_MAX) or len(found.get("channel_id", "")) > CHANNEL_MAX:
        return None
    if any(not _MONTH.fullmatch(found[m]) for m in ("month", "period") if m in found):
        return None
    return None if "kind" in found and found["kind"] not in _KINDS else found


_PAGE = frozenset({"limit", "cursor"})
_USAGE, _INVOICES = _PAGE | {"month", "channel_id"}, _PAGE | {"period", "kind"}


def route(path: str, query: bytes) -> Answer | None:
    """What answers this GET, if it is one of the hot reads with plain parameters."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "v1":
        return None
    if parts[2] == "balances":
        if len(parts) == 3 and (q := _params(query, _PAGE)) is not None:
            return lambda ctx, p: balances_page(ctx, p, int(q.get("limit", DEFAULT_LIMIT)), q.get("cursor"))
        if len(parts) in (4, 5) and parts[3] and not query:
            owner_id = parts[3]
            if len(parts) == 4:
                return lambda ctx, p: one_balance(ctx, p, owner_id)
            if parts[4] == "forecast":
                return lambda ctx, p: balance_forecast(ctx, p, owner_id)
    elif len(parts) == 3 and parts[2] == "usage" and (q := _params(query, _USAGE)) is not None and "month" in q:
        return lambda ctx, p: usage_page(ctx, p, q["month"], q.get("channel_id"),
                                         int(q.get("limit", DEFAULT_LIMIT)), q.get("cursor"))
    elif len(parts) == 3 and parts[2] == "invoices" and (q := _params(query, _INVOICES)) is not None:
        return lambda ctx, p: invoices_page(ctx, p, q.get("period"), q.get("kind"),
                                            int(q.get("limit", DEFAULT_LIMIT)), q.get("cursor"))
    return None


class PortalApi(FastAPI):
    """FastAPI with the hot reads in front (the OpenAPI document and every other route are FastAPI's)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (answer := route(scope["path"],
                                                                                      scope["query_string"])):
            body = await _answered(self.state.context, scope, answer)
            if body is not None:
                ctx: Context = self.state.context
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"),
                    (b"x-read-model-as-of", (when(ctx.as_of.value) or "").encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await super().__call__(scope, receive, send)


async def _answered(ctx: Context, scope, answer: Answer) -> bytes | None:
    authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    try:
        return await answer(ctx, await principal_of(ctx, authorization.decode("latin-1")))
    except ApiError:
        return None  # FastAPI's route answers it again, with its error
