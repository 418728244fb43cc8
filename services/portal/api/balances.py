"""`/v1/balances`: balances (§6), their forecast, and top-up requests with an Idempotency-Key."""

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Response

from shared.contracts import Account
from shared.money import plain

from ..adapters import writes
from ..domain.cursors import DEFAULT_LIMIT, MAX_LIMIT, MIN_LIMIT, encode_cursor
from ..domain.forecast import forecast, window
from ..domain.principals import Principal
from . import answers
from .context import Context, after, authenticated, context
from .errors import ApiError, not_found
from .models import Balance, Error, BalanceList, Forecast, TopupRequestIn, TopupRequestOut

router = APIRouter(prefix="/v1/balances", tags=["balances"])
Limit = Annotated[int, Query(ge=MIN_LIMIT, le=MAX_LIMIT, description="Items per page, 1 to 100.")]
CURSOR_MAX = 512
Cursor = Annotated[str | None, Query(max_length=CURSOR_MAX, description="`next_cursor` of the previous page.")]
_REQUESTS = uuid.UUID("5d0b8e1c-2a53-4d36-9f0e-4c1f2f4b7a10")
MAX_TOPUP = Decimal("1000000")


def account_of(row: asyncpg.Record) -> Account:
    return Account(partner_id=row["owner_id"]) if row["kind"] == "partner" else Account(channel_id=row["owner_id"])


def json_answer(body: bytes) -> Response:
    # Returned as it is: FastAPI neither validates nor re-serialises a Response (the route's
    # response_model still documents it).
    return Response(body, media_type="application/json")


async def balances_page(ctx: Context, principal: Principal, limit: int, cursor: str | None) -> bytes:
    start = after("balances", cursor, 1)
    async with ctx.session(principal) as reads:
        rows = await reads.balances(start[0] if start else None, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return answers.page([answers.balance(r) for r in rows],
                        encode_cursor("balances", [rows[-1]["owner_id"]]) if more else None, ctx.as_of.value)


async def one_balance(ctx: Context, principal: Principal, owner_id: str) -> bytes:
    async with ctx.session(principal) as reads:
        row = await reads.balance(owner_id)
    if row is None:
        raise not_found("balance")
    return answers.dumps(answers.balance(row))


async def balance_forecast(ctx: Context, principal: Principal, owner_id: str) -> bytes:
    today = ctx.today()
    first, last = window(today)
    async with ctx.session(principal) as reads:
        row = await reads.balance_and_spend(owner_id, first, last)
    if row is None:
        raise not_found("balance")
    return answers.forecast(row, forecast(row["amount"], row["spent"], today), first, last, ctx.as_of.value)


@router.get("", response_model=BalanceList, summary="Every balance the key may see")
async def list_balances(ctx: Annotated[Context, Depends(context)],
                        principal: Annotated[Principal, Depends(authenticated)],
                        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    return json_answer(await balances_page(ctx, principal, limit, cursor))


@router.get("/{owner_id}", response_model=Balance, summary="One balance: a partner id or a channel id")
async def get_balance(owner_id: str, ctx: Annotated[Context, Depends(context)],
                      principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    return json_answer(await one_balance(ctx, principal, owner_id))


@router.get("/{owner_id}/forecast", response_model=Forecast, summary="When the balance runs out at its recent pace")
async def get_forecast(owner_id: str, ctx: Annotated[Context, Depends(context)],
                       principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    return json_answer(await balance_forecast(ctx, principal, owner_id))


def parse_topup_amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ApiError(400, "invalid_amount", f"amount must be a decimal such as 100.00, got {text!r}") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_TOPUP or amount != amount.quantize(Decimal("0.01")):
        raise ApiError(400, "invalid_amount", f"amount must be positive, at most {MAX_TOPUP}, with at most 2 "
                       f"decimals; got {text!r}")
    return amount


@router.post("/{owner_id}/topup-requests", response_model=TopupRequestOut, status_code=201,
             summary="Ask the payment provider for a top-up (announced by balance as topup.requested)",
             responses={200: {"model": TopupRequestOut, "description": "The same Idempotency-Key again: the "
                                                                       "first answer, replayed."},
                        409: {"model": Error, "description": "The Idempotency-Key was used for another request."}})
async def request_topup(owner_id: str, request: TopupRequestIn, response: Response,
                        ctx: Annotated[Context, Depends(context)],
                        principal: Annotated[Principal, Depends(authenticated)],
                        idempotency_key: Annotated[str, Header(min_length=1, max_length=255,
                                                               description="The same key twice is one request.")]
                        ) -> TopupRequestOut:
    amount = parse_topup_amount(request.amount)
    now = ctx.clock()
    async with ctx.session(principal) as reads:
        balance = await reads.balance(owner_id)
        if balance is None:
            raise not_found("balance")
        earlier = await writes.find_topup(reads.conn, principal, idempotency_key)
        if earlier is None:
            request_id = "tr_" + uuid.uuid5(_REQUESTS, f"{principal.label}/{idempotency_key}").hex
            if await writes.add_topup(reads.conn, principal, idempotency_key, request_id, balance, amount, now):
                earlier = await writes.find_topup(reads.conn, principal, idempotency_key)
            else:
                earlier = await writes.find_topup(reads.conn, principal, idempotency_key)
                response.status_code = 200
        else:
            response.status_code = 200
    assert earlier is not None
    if earlier["owner_id"] != owner_id or earlier["amount"] != amount:
        raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used for another top-up request")
    if response.status_code == 201:
        ctx.published()
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return TopupRequestOut(request_id=earlier["request_id"], owner=account_of(balance), amount=plain(amount),
                           currency=earlier["currency"], requested_at=earlier["requested_at"],
                           requested_by=earlier["principal"])
