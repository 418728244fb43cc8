"""`/v1/usage` (§6), and a partner's markups and re-billing statements (beyond §6)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from shared.contracts.base import Month
from shared.money import plain

from ..adapters import writes
from ..domain.cursors import DEFAULT_LIMIT, encode_cursor
from ..domain.principals import Principal
from ..domain.statement import MarkupError, Statement, UsageAtCost, parse_markup, statement, to_csv
from . import answers
from .balances import Cursor, Limit, json_answer
from .context import Context, after, authenticated, context
from .errors import ApiError, not_found
from .models import Error, MarkupIn, Markups, StatementLineOut, StatementOut, UsageList

router = APIRouter(prefix="/v1", tags=["usage"])
MonthParam = Annotated[Month, Query(description="YYYY-MM")]
CHANNEL_MAX = 128
Category = Annotated[str, Query(min_length=1, max_length=64)]


async def usage_page(ctx: Context, principal: Principal, month: str, channel_id: str | None, limit: int,
                     cursor: str | None) -> bytes:
    start = after("usage", cursor, 3)
    month = valid_month(month)
    async with ctx.session(principal) as reads:
        rows = await reads.usage(month, channel_id, tuple(start) if start else None, limit + 1)  # type: ignore[arg-type]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return answers.page([answers.usage_row(r) for r in rows],
                        encode_cursor("usage", [last["day"].isoformat(), last["channel_id"], last["category"]])
                        if more and last else None, ctx.as_of.value)


@router.get("/usage", response_model=UsageList, summary="Charged and free messages per channel, category and day")
async def list_usage(month: MonthParam, ctx: Annotated[Context, Depends(context)],
                     principal: Annotated[Principal, Depends(authenticated)],
                     channel_id: Annotated[str | None, Query(max_length=CHANNEL_MAX)] = None,
                     limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    return json_answer(await usage_page(ctx, principal, month, channel_id, limit, cursor))


async def _own_partner(reads, principal: Principal, partner_id: str) -> None:
    if await reads.partner(partner_id) is None:
        raise not_found("partner")


@router.get("/partners/{partner_id}/markups", response_model=Markups, summary="A partner's markups per category")
async def get_markups(partner_id: str, ctx: Annotated[Context, Depends(context)],
                      principal: Annotated[Principal, Depends(authenticated)]) -> Markups:
    async with ctx.session(principal) as reads:
        await _own_partner(reads, principal, partner_id)
        found = await reads.markups(partner_id)
    return Markups(partner_id=partner_id, markups={c: plain(p) for c, p in found.items()})


@router.put("/partners/{partner_id}/markups/{category}", response_model=Markups,
            summary="Set the partner's own markup for a category (its re-billing statements use it)",
            responses={403: {"model": Error, "description": "Finance may read a partner's markups, not set them."}})
async def put_markup(partner_id: str, category: str, body: MarkupIn, ctx: Annotated[Context, Depends(context)],
                     principal: Annotated[Principal, Depends(authenticated)]) -> Markups:
    if not 1 <= len(category) <= 64:
        raise ApiError(400, "invalid_category", "category must have 1 to 64 characters")
    try:
        percent = parse_markup(body.percent)
    except MarkupError as exc:
        raise ApiError(400, "invalid_markup", str(exc)) from None
    async with ctx.session(principal) as reads:
        await _own_partner(reads, principal, partner_id)
        if principal.kind != "partner":
            raise ApiError(403, "partner_only", "only the partner itself sets its markups")
        await writes.set_markup(reads.conn, partner_id, category, percent)
        found = await reads.markups(partner_id)
    return Markups(partner_id=partner_id, markups={c: plain(p) for c, p in found.items()})


async def build_statement(ctx: Context, principal: Principal, partner_id: str, client_id: str,
                          month: str) -> Statement:
    async with ctx.session(principal) as reads:
        partner = await reads.partner(partner_id)
        client = await reads.client(client_id)
        if partner is None or client is None or client["partner_id"] != partner_id or principal.kind == "client":
            raise not_found("client of this partner")
        usage = [UsageAtCost(r["channel_id"], r["category"], r["messages"], r["cost"])
                 for r in await reads.usage_at_cost(client_id, month)]
        markups = await reads.markups(partner_id)
    return statement(partner_id, client_id, client["name"], month, partner["currency"], usage, markups)


def valid_month(month: str) -> str:
    try:
        if date.fromisoformat(f"{month}-01").year < 2000:
            raise ValueError("before the platform")
    except ValueError:
        raise ApiError(400, "invalid_month", f"month must be YYYY-MM, got {month!r}") from None
    if len(month) != 7:
        raise ApiError(400, "invalid_month", f"month must be YYYY-MM, got {month!r}")
    return month


@router.get("/partners/{partner_id}/statements/{client_id}/{month}", response_model=StatementOut,
            summary="A re-billing statement: the client's usage of a month at cost, the markup, the price")
async def get_statement(partner_id: str, client_id: str, month: str, ctx: Annotated[Context, Depends(context)],
                        principal: Annotated[Principal, Depends(authenticated)]) -> StatementOut:
    s = await build_statement(ctx, principal, partner_id, client_id, valid_month(month))
    return StatementOut(partner_id=s.partner_id, client_id=s.client_id, client_name=s.client_name, month=s.month,
                        currency=s.currency,  # type: ignore[arg-type]
                        lines=[StatementLineOut(channel_id=line.channel_id, category=line.category,
                                                messages=line.messages, cost=plain(line.cost),
                                                markup_percent=plain(line.markup_percent), price=line.price)
                               for line in s.lines], cost=plain(s.cost), price=s.price, as_of=ctx.as_of.value)


@router.get("/partners/{partner_id}/statements/{client_id}/{month}/csv", response_class=Response,
            summary="The re-billing statement as CSV",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}})
async def get_statement_csv(partner_id: str, client_id: str, month: str, ctx: Annotated[Context, Depends(context)],
                            principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    s = await build_statement(ctx, principal, partner_id, client_id, valid_month(month))
    return Response(to_csv(s), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statement-{client_id}-{month}.csv"'})


@router.get("/partners/{partner_id}/statements/{client_id}/{month}/pdf", response_class=Response,
            summary="The re-billing statement as a PDF for the client (prices only)",
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "PDF"}})
async def get_statement_pdf(partner_id: str, client_id: str, month: str, ctx: Annotated[Context, Depends(context)],
                            principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    from ..pages.render import pdf_response

    return pdf_response(await build_statement(ctx, principal, partner_id, client_id, valid_month(month)))
