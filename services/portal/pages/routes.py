"""The portal's server-rendered pages: sign-in with a signed link, then a page per kind of principal.

Pages read through the same session as the API (the reader role, the
principal set per transaction), so they show exactly what the API would.
htmx posts the top-up request and the markups and swaps in a fragment;
every asset (htmx, Chart.js) is served from node_modules by this service.
"""

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ..adapters import writes
from ..api.balances import parse_topup_amount
from ..api.context import Context
from ..api.errors import ApiError
from ..api.invoices import _document
from ..api.usage import build_statement, valid_month
from ..domain.links import LinkError
from ..domain.principals import Principal
from ..domain.statement import MarkupError, parse_markup
from . import render
from .render import templates
from .views import balance_view, finance_view, home_view

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
COOKIE = "portal_session"


class SignedOut(Exception):
    pass


def install(app: FastAPI, ctx: Context) -> None:
    app.mount("/assets/htmx", StaticFiles(directory=ROOT / "node_modules" / "htmx.org" / "dist", check_dir=False),
              name="htmx")
    app.mount("/assets/chart", StaticFiles(directory=ROOT / "node_modules" / "chart.js" / "dist", check_dir=False),
              name="chart")
    app.mount("/assets/portal", StaticFiles(directory=HERE.parent / "static"), name="portal")

    async def principal(request: Request) -> Principal:  # async: no thread-pool hop per page
        token = request.cookies.get(COOKIE)
        if not token:
            raise SignedOut()
        try:
            return ctx.signer.principal_of_session(token, ctx.settings.session_ttl_s)
        except LinkError:
            raise SignedOut() from None

    Who = Annotated[Principal, Depends(principal)]

    def page(request: Request, name: str, who: Principal | None, status: int = 200, **data: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"who": who, "as_of": ctx.as_of.value, **data},
                                          status_code=status)

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, exc: SignedOut) -> HTMLResponse:
        return page(request, "message.html", None, 401, title="Please sign in",
                    text="Open the sign-in link you were given (ask your operator for a new one: "
                         "billing portal link).")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/portal", 303)

    @app.get("/signin", include_in_schema=False)
    async def signin(request: Request, token: str = "") -> Response:
        try:
            who = ctx.signer.principal_of_link(token, ctx.settings.link_ttl_s)
        except LinkError as exc:
            return page(request, "message.html", None, 400, title="This link does not work", code=exc.code,
                        text=str(exc))
        response = RedirectResponse("/portal", 303)
        response.set_cookie(COOKIE, ctx.signer.session_token(who), max_age=ctx.settings.session_ttl_s,
                            httponly=True, samesite="strict", secure=ctx.settings.cookie_secure)
        return response

    @app.post("/signout", include_in_schema=False)
    async def signout() -> Response:
        response = RedirectResponse("/", 303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/portal", include_in_schema=False)
    async def home(request: Request, who: Who) -> HTMLResponse:
        async with ctx.session(who) as reads:
            if who.kind == "finance":
                return page(request, "finance.html", who, **await finance_view(reads, ctx))
            data = await home_view(reads, ctx, who)
        return page(request, "home.html", who, idempotency_key=uuid.uuid4().hex, **data)

    @app.get("/portal/balances/{owner_id}", include_in_schema=False)
    async def balance(request: Request, owner_id: str, who: Who) -> HTMLResponse:
        async with ctx.session(who) as reads:
            view = await balance_view(reads, ctx, owner_id)
        if view is None:
            return page(request, "message.html", who, 404, title="Not found", code="not_found",
                        text="No balance with this id.")
        return page(request, "balance.html", who, v=view, idempotency_key=uuid.uuid4().hex)

    @app.post("/portal/balances/{owner_id}/topup-requests", include_in_schema=False)
    async def topup(request: Request, owner_id: str, who: Who, amount: Annotated[str, Form()],
                    idempotency_key: Annotated[str, Form()]) -> HTMLResponse:
        try:
            value = parse_topup_amount(amount.strip())
        except ApiError as exc:
            return page(request, "_topup_result.html", who, 400, error=exc.message)
        async with ctx.session(who) as reads:
            b = await reads.balance(owner_id)
            if b is None:
                return page(request, "_topup_result.html", who, 404, error="No balance with this id.")
            earlier = await writes.find_topup(reads.conn, who, idempotency_key[:255])
            if earlier is None:
                rid = "tr_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{who.label}/{idempotency_key}").hex
                await writes.add_topup(reads.conn, who, idempotency_key[:255], rid, b, value, ctx.clock())
                earlier = await writes.find_topup(reads.conn, who, idempotency_key[:255])
        ctx.published()
        return page(request, "_topup_result.html", who, request_row=earlier, new_key=uuid.uuid4().hex)

    @app.get("/portal/invoices/{invoice_id}/{fmt}", include_in_schema=False)
    async def download(invoice_id: str, fmt: str, who: Who) -> Response:
        formats = {"pdf": ("pdf",), "xml": ("xrechnung", "cii")}.get(fmt)
        if formats is None:
            raise ApiError(404, "not_found", "no such document format")
        return await _document(ctx, who, invoice_id, formats)

    @app.get("/portal/statements", include_in_schema=False)
    async def statements(request: Request, who: Who, client_id: str = "", month: str = "") -> HTMLResponse:
        if who.kind != "partner":
            return page(request, "message.html", who, 404, title="Not found", code="not_found",
                        text="Re-billing statements are a partner's.")
        month = month or ctx.today().strftime("%Y-%m")
        async with ctx.session(who) as reads:
            clients = await reads.clients()
            markups = await reads.markups(who.id or "")
            categories = sorted(set(await reads.categories(who.id or "")) | set(markups))
        chosen = client_id or (clients[0]["client_id"] if clients else "")
        statement, error = None, None
        if chosen:
            try:
                statement = await build_statement(ctx, who, who.id or "", chosen, valid_month(month))
            except ApiError as exc:
                error = exc.message
        return page(request, "statement.html", who, clients=clients, chosen=chosen, month=month,
                    statement=statement, markups=markups, categories=categories, error=error,
                    status=400 if error else 200)

    @app.post("/portal/markups", include_in_schema=False)
    async def markups(request: Request, who: Who, category: Annotated[str, Form()],
                      percent: Annotated[str, Form()]) -> HTMLResponse:
        if who.kind != "partner":
            return page(request, "_markup_result.html", who, 404, error="Markups are a partner's.")
        try:
            value = parse_markup(percent)
            if not 1 <= len(category) <= 64:
                raise MarkupError("category must have 1 to 64 characters")
        except MarkupError as exc:
            return page(request, "_markup_result.html", who, 400, error=str(exc))
        async with ctx.session(who) as reads:
            await writes.set_markup(reads.conn, who.id or "", category, value)
        return page(request, "_markup_result.html", who, category=category, percent=value)

    @app.get("/portal/statements/{client_id}/{month}.{fmt}", include_in_schema=False)
    async def statement_file(client_id: str, month: str, fmt: str, who: Who) -> Response:
        s = await build_statement(ctx, who, who.id or "", client_id, valid_month(month))
        if fmt == "csv":
            return render.csv_response(s)
        if fmt == "pdf":
            return render.pdf_response(s)
        raise ApiError(404, "not_found", "statements are csv or pdf")
