"""`/v1/invoices`: the §3.7 messages as issued, and their PDF and XML byte for byte."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from shared.contracts.base import Month

from ..domain.cursors import DEFAULT_LIMIT, encode_cursor
from ..domain.principals import Principal
from . import answers
from .balances import Cursor, Limit, json_answer
from .context import Context, after, authenticated, context
from .errors import ApiError, not_found
from .models import Error, InvoiceList

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
Kind = Literal["prepayment", "subscription", "partner_plan", "license", "license_prorated", "month_closing",
               "credit_note"]
_NO_DOCUMENT = {404: {"model": Error, "description": "No such invoice, or its documents are not issued yet "
                                                     "(`document_not_ready`)."}}


async def invoices_page(ctx: Context, principal: Principal, period: str | None, kind: str | None, limit: int,
                        cursor: str | None) -> bytes:
    start = after("invoices", cursor, 2)
    async with ctx.session(principal) as reads:
        rows = await reads.invoices(period, kind, tuple(start) if start else None, limit + 1)  # type: ignore[arg-type]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor("invoices", [rows[-1]["sort_at"], rows[-1]["invoice_id"]]) if more else None
    return answers.invoices([bytes(r["body"]) for r in rows], nxt, ctx.as_of.value)


@router.get("", response_model=InvoiceList, summary="Invoices, newest first")
async def list_invoices(ctx: Annotated[Context, Depends(context)],
                        principal: Annotated[Principal, Depends(authenticated)],
                        period: Annotated[Month | None, Query(description="YYYY-MM")] = None,
                        kind: Kind | None = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    return json_answer(await invoices_page(ctx, principal, period, kind, limit, cursor))


@router.get("/{invoice_id}", summary="One invoice: the §3.7 message as issued",
            responses={200: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}},
                             "description": "The §3.7 message."}})
async def get_invoice(invoice_id: str, ctx: Annotated[Context, Depends(context)],
                      principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    async with ctx.session(principal) as reads:
        row = await reads.invoice(invoice_id)
    if row is None:
        raise not_found("invoice")
    return Response(bytes(row["body"]), media_type="application/json")


async def _document(ctx: Context, principal: Principal, invoice_id: str, formats: tuple[str, ...]) -> Response:
    async with ctx.session(principal) as reads:
        invoice = await reads.invoice(invoice_id)
        if invoice is None:
            raise not_found("invoice")
        doc = await reads.document(invoice_id, formats)
    if doc is None:
        raise ApiError(404, "document_not_ready", f"the {formats[0]} document of invoice {invoice['number']} "
                       "has not been issued yet; try again shortly")
    return Response(bytes(doc["content"]), media_type=doc["media_type"],
                    headers={"Content-Disposition": f'attachment; filename="{doc["filename"]}"'})


@router.get("/{invoice_id}/pdf", summary="The PDF/A-3 as issued", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The PDF/A-3 with its EN 16931 data embedded."}, **_NO_DOCUMENT})
async def get_pdf(invoice_id: str, ctx: Annotated[Context, Depends(context)],
                  principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    return await _document(ctx, principal, invoice_id, ("pdf",))


@router.get("/{invoice_id}/xml", summary="The EN 16931 XML as issued (XRechnung when there is one, else CII)",
            response_class=Response,
            responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}},
                             "description": "The EN 16931 XML."}, **_NO_DOCUMENT})
async def get_xml(invoice_id: str, ctx: Annotated[Context, Depends(context)],
                  principal: Annotated[Principal, Depends(authenticated)]) -> Response:
    return await _document(ctx, principal, invoice_id, ("xrechnung", "cii"))
