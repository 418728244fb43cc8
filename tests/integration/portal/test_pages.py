"""The portal's pages for people: signed links, a page per principal, charts with their tables, files."""

import asyncio
import re

from services.portal.domain.principals import Principal

from .world import MONTH


def signed_in(world, http, label: str):
    token = http._transport.app.state.context.signer.link_token(Principal.parse(label))
    return http.get(f"/signin?token={token}")


async def test_a_forged_or_expired_link_is_refused_with_its_code_and_pages_need_a_session(world):
    """A forged link → 400 link_invalid; without a session /portal asks to sign in (401)."""
    async with world.api(link_ttl_s=0) as http:
        assert (await http.get("/signin?token=forged")).status_code == 400
        assert "link_invalid" in (await http.get("/signin?token=forged")).text
        token = http._transport.app.state.context.signer.link_token(Principal("finance"))
        await asyncio.sleep(1.1)  # a link is stamped in whole seconds
        r = await http.get(f"/signin?token={token}")
        assert r.status_code == 400 and "link_expired" in r.text
        assert (await http.get("/portal")).status_code == 401


async def test_a_partner_sees_its_balance_chart_table_clients_and_invoices_and_can_ask_for_a_top_up(world):
    """Sign in by link, then the overview, the balance page with its table, and an htmx top-up."""
    pid = next(p for p, v in world.partners.items() if v["model"] == "partner_paid")
    async with world.api() as http:
        r = await signed_in(world, http, f"partner:{pid}")
        assert r.status_code == 303 and "portal_session" in r.headers["set-cookie"]
        home = await http.get("/portal")
        assert home.status_code == 200 and pid in home.text and "/assets/htmx/htmx.min.js" in home.text
        for cl, ch in world.partners[pid]["clients"].items():
            assert ch in home.text and f"inv-{ch}/pdf" in home.text
        page = await http.get(f"/portal/balances/{pid}")
        assert page.status_code == 200 and "0.3393" in page.text and "spend-data" in page.text
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text).group(1)
        asked = await http.post(f"/portal/balances/{pid}/topup-requests", data={"amount": "25", "idempotency_key": key})
        again = await http.post(f"/portal/balances/{pid}/topup-requests", data={"amount": "25", "idempotency_key": key})
        assert "requested" in asked.text and asked.text == again.text
        other = next(p for p in world.partners if p != pid)
        assert (await http.get(f"/portal/balances/{other}")).status_code == 404
        assert (await http.get(f"/portal/invoices/inv-{ch}/pdf")).content.startswith(b"%PDF")
        assert (await http.get("/assets/htmx/htmx.min.js")).status_code == 200
        assert (await http.get("/assets/chart/chart.umd.min.js")).status_code == 200


async def test_a_partner_sets_a_markup_and_downloads_its_statement_as_csv_and_pdf(world):
    """A markup of -5 % is refused on the page; 20 % prices the statement; the PDF is a PDF."""
    pid = next(p for p, v in world.partners.items() if v["model"] == "direct_paid")
    cl = next(iter(world.partners[pid]["clients"]))
    async with world.api() as http:
        await signed_in(world, http, f"partner:{pid}")
        bad = await http.post("/portal/markups", data={"category": "marketing", "percent": "-5"})
        assert bad.status_code == 400 and "negative" in bad.text
        assert (await http.post("/portal/markups", data={"category": "marketing", "percent": "20"})).status_code == 200
        page = await http.get("/portal/statements", params={"client_id": cl, "month": MONTH})
        assert page.status_code == 200 and "0.41" in page.text
        csv = await http.get(f"/portal/statements/{cl}/{MONTH}.csv")
        pdf = await http.get(f"/portal/statements/{cl}/{MONTH}.pdf")
        assert csv.text.splitlines()[-1].endswith(",0.41") and pdf.content.startswith(b"%PDF")
        assert (await http.get("/portal/statements", params={"client_id": cl, "month": "2026-13"})).status_code == 400


async def test_finance_sees_partners_depleted_balances_months_dead_letters_and_reconciliation(world):
    """The finance page lists every partner and each section, with data or an honest 'none'."""
    async with world.api() as http:
        await signed_in(world, http, "finance")
        page = await http.get("/portal")
    assert page.status_code == 200
    for pid in world.partners:
        assert pid in page.text
    for heading in ("Reconciliation", "Months", "Dead letters", "Partners", "depleted"):
        assert heading in page.text
