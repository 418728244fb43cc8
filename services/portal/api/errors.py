"""Errors as CONTRACT.md §6 writes them, `{"error": {"code", "message"}}`, with specific codes.

Bad input never reaches a 500: FastAPI's validation errors become 400 with
`invalid_<parameter>` (so a limit of 1,000 is `invalid_limit`, a month of
2026-13 `invalid_month`), and the routes raise `ApiError` for the rest.
"""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(what: str) -> ApiError:
    # The same answer for what does not exist and what belongs to someone else (§6).
    return ApiError(404, "not_found", f"no {what} with this id")


def body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), exc.status,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "header", "body")]
        name = (loc[0] if loc else "request").replace("-", "_").lower()
        where = ".".join(loc) or "request"
        return JSONResponse(body(f"invalid_{name}", f"{where}: {first.get('msg', 'invalid')}"), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(body(code, str(exc.detail)), exc.status_code)
