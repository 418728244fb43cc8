"""The HTTP API (CONTRACT.md §6, under /v1) and the portal's pages, as one FastAPI app.

Every /v1 answer carries `X-Read-Model-As-Of`: the time of the newest record
the read model has applied (lists also say it as `as_of`), so a caller knows
how far behind the platform it may be.
"""

from typing import Annotated

from fastapi import Depends

from ..domain.principals import Principal
from . import balances, errors, invoices, usage
from .answers import when
from .context import Context, authenticated
from .hot import PortalApi
from .models import Error
from .models import Me

DESCRIPTION = """Partners, their clients, the Hub and finance read balances, invoices and usage (CONTRACT.md §6).

Every request carries `Authorization: Bearer <api key>` (keys are made with `billing keys create`). A key
belongs to a partner (itself, its clients, their channels), a client (its own channels) or finance
(everything). Something that belongs to someone else answers 404, exactly like something that does not exist.
Lists take `limit` (1 to 100) and the opaque `cursor` of the previous page. Errors are
`{"error": {"code", "message"}}`. Amounts are decimal strings."""


class AsOfHeader:
    """Adds `X-Read-Model-As-Of` to every /v1 answer (a plain ASGI middleware: no per-request task)."""

    def __init__(self, app, as_of) -> None:
        self.app, self.as_of = app, as_of

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)

        async def with_header(message) -> None:
            if message["type"] == "http.response.start":
                value = (when(self.as_of()) or "").encode()
                message = {**message, "headers": [*message.get("headers", []), (b"x-read-model-as-of", value)]}
            await send(message)

        await self.app(scope, receive, with_header)


def create_api(ctx: Context, pages: bool = True) -> PortalApi:
    app = PortalApi(title="Billing portal API", version="1.0.0", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/v1/openapi.json",
                  responses={400: {"model": Error, "description": "Bad input, with a specific code."},
                             401: {"model": Error, "description": "Missing, unknown or revoked API key."},
                             404: {"model": Error, "description": "Not found, or not yours."}})
    app.state.context = ctx
    errors.install(app)
    for module in (balances, invoices, usage):
        app.include_router(module.router)

    @app.get("/v1/me", response_model=Me, tags=["keys"], summary="Whom this API key belongs to")
    async def me(principal: Annotated[Principal, Depends(authenticated)]) -> Me:
        return Me(kind=principal.kind, id=principal.id)

    app.add_middleware(AsOfHeader, as_of=lambda: ctx.as_of.value)
    if pages:
        from ..pages import routes

        routes.install(app, ctx)
    return app
