"""A re-billing statement as a file: CSV for spreadsheets, PDF (WeasyPrint) for people."""

from decimal import Decimal
from pathlib import Path

from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from shared.money import plain

from ..domain.statement import Statement, to_csv

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
templates.env.filters["money"] = lambda v: "" if v is None else format(plain(v), "f")
# For a pace or a forecast, cents are enough; amounts of money keep their exact digits (`money`).
templates.env.filters["cents"] = lambda v: "" if v is None else format(v.quantize(Decimal("0.01")), "f")


def csv_response(s: Statement) -> Response:
    return Response(to_csv(s), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statement-{s.client_id}-{s.month}.csv"'})


def pdf_bytes(s: Statement) -> bytes:
    from weasyprint import HTML  # imported when used: it loads Pango, which the API alone never needs

    html = templates.get_template("statement_pdf.html").render(s=s)
    return HTML(string=html).write_pdf()


def pdf_response(s: Statement) -> Response:
    return Response(pdf_bytes(s), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="statement-{s.client_id}-{s.month}.pdf"'})
