"""The API's promises beyond isolation: errors with specific codes, pagination, top-ups, documents, the model's time."""

import hashlib

import httpx
from fastapi import FastAPI

from services.portal.api.app import create_api
from services.portal.api.context import Context
from services.portal.api.hot import route
from shared.settings import PortalSettings
from shared.topics import BALANCE_MOVES, INVOICE_DOCUMENTS
from shared.contracts import ErrorCode

from .world import MONTH, NOW, PDF, document


def first_partner(world, model="partner_paid") -> str:
    return next(pid for pid, p in world.partners.items() if p["model"] == model)


async def test_bad_input_gets_a_4xx_with_a_specific_code_never_a_500(world):
    """An unknown month, a limit of 1,000, a malformed cursor, a markup of -5 %, a bad amount, no key."""
    pid = first_partner(world)
    h = world.auth(f"partner:{pid}")
    client = next(iter(world.partners[pid]["clients"]))
    async with world.api() as http:
        cases = [
            (await http.get("/v1/usage", params={"month": "2026-13"}, headers=h), 400, "invalid_month"),
            (await http.get("/v1/usage", headers=h), 400, "invalid_month"),
            (await http.get("/v1/balances", params={"limit": 1000}, headers=h), 400, "invalid_limit"),
            (await http.get("/v1/balances", params={"limit": 0}, headers=h), 400, "invalid_limit"),
            (await http.get("/v1/balances", params={"cursor": "not-ours"}, headers=h), 400, "invalid_cursor"),
            (await http.get("/v1/invoices", params={"cursor": "WyJiYWxhbmNlcyIsIngiXQ"}, headers=h), 400,
             "invalid_cursor"),
            (await http.get("/v1/invoices", params={"period": "October"}, headers=h), 400, "invalid_period"),
            (await http.put(f"/v1/partners/{pid}/markups/marketing", json={"percent": "-5"}, headers=h), 400,
             "invalid_markup"),
            (await http.put(f"/v1/partners/{pid}/markups/marketing", json={"percent": "abc"}, headers=h), 400,
             "invalid_markup"),
            (await http.get(f"/v1/partners/{pid}/statements/{client}/2026-13", headers=h), 400, "invalid_month"),
            (await http.post(f"/v1/balances/{pid}/topup-requests", json={"amount": "-5"},
                             headers={**h, "Idempotency-Key": "k"}), 400, "invalid_amount"),
            (await http.post(f"/v1/balances/{pid}/topup-requests", json={"amount": "5"}, headers=h), 400,
             "invalid_idempotency_key"),
            (await http.get("/v1/balances"), 401, "missing_api_key"),
            (await http.get("/v1/balances", headers={"Authorization": "Bearer wab_live_nope"}), 401,
             "invalid_api_key"),
            (await http.get("/v1/nothing-here", headers=h), 404, "not_found"),
        ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


async def test_lists_page_through_everything_once_with_opaque_cursors(world):
    """Finance pages through the balances two at a time: every balance once, in order, then no cursor."""
    seen, cursor = [], None
    async with world.api() as http:
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/v1/balances", params=params, headers=world.auth("finance"))).json()
            seen += [b["owner"].get("partner_id") or b["owner"]["channel_id"] for b in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        everything = (await http.get("/v1/balances", params={"limit": 100}, headers=world.auth("finance"))).json()
    assert seen == sorted(seen) == [b["owner"].get("partner_id") or b["owner"]["channel_id"]
                                    for b in everything["data"]]
    assert len(seen) == len(set(seen))


async def test_the_same_idempotency_key_makes_one_top_up_request_and_queues_one_command(world):
    """Twice with one key: 201 then 200 with the same request id; another amount with it: 409."""
    pid = first_partner(world)
    h = {**world.auth(f"partner:{pid}"), "Idempotency-Key": "once-only"}
    async with world.api() as http:
        first = await http.post(f"/v1/balances/{pid}/topup-requests", json={"amount": "100.00"}, headers=h)
        again = await http.post(f"/v1/balances/{pid}/topup-requests", json={"amount": "100.00"}, headers=h)
        other = await http.post(f"/v1/balances/{pid}/topup-requests", json={"amount": "50.00"}, headers=h)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert first.json()["request_id"] == again.json()["request_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    commands = await world.pool.fetch("SELECT value FROM outbox WHERE key = $1", pid.encode())
    assert sum(first.json()["request_id"].encode() in bytes(c["value"]) for c in commands) == 1


async def test_a_document_is_served_byte_for_byte_and_one_with_a_wrong_digest_is_refused(world):
    """The PDF comes back exactly; XRechnung is preferred over CII; a document whose bytes do not match
    its SHA-256 is dead-lettered as schema_invalid and not served."""
    pid = first_partner(world, "direct_paid")
    cl, ch = next(iter(world.partners[pid]["clients"].items()))
    invoice_id = f"inv-{ch}"
    cii, xr = b"<rsm:CrossIndustryInvoice/>", b"<ubl:Invoice xrechnung/>"
    for fmt, content in (("cii", cii), ("xrechnung", xr)):
        doc = {**document(invoice_id, pid, cl, content), "format": fmt, "media_type": "application/xml",
               "filename": f"{invoice_id}-{fmt}.xml"}
        assert await world.feed(INVOICE_DOCUMENTS.name, invoice_id, [doc]) == []
    forged = {**document("inv-forged", pid, cl), "sha256": hashlib.sha256(b"other").hexdigest()}
    [refused] = await world.feed(INVOICE_DOCUMENTS.name, "inv-forged", [forged])
    assert refused.code == ErrorCode.SCHEMA_INVALID and "sha256" in refused.reason
    async with world.api() as http:
        pdf = await http.get(f"/v1/invoices/{invoice_id}/pdf", headers=world.auth(f"client:{cl}"))
        xml = await http.get(f"/v1/invoices/{invoice_id}/xml", headers=world.auth(f"client:{cl}"))
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    assert xml.content == xr and xml.headers["content-type"] == "application/xml"


async def test_every_answer_says_how_far_the_read_model_is_and_an_old_move_changes_nothing(world):
    """X-Read-Model-As-Of on every /v1 answer, `as_of` in lists; a balance keeps its newest version."""
    pid = first_partner(world)
    account = {"partner_id": pid}
    stale = {"move_id": f"{pid}/1", "balance": account, "partner_id": pid, "client_id": None,
             "billing_model": "partner_paid", "currency": "EUR", "amount": "1.00", "version": 1,
             "updated_at": "2026-10-19T10:00:00Z"}
    await world.feed(BALANCE_MOVES.name, pid, [stale])
    async with world.api() as http:
        one = await http.get(f"/v1/balances/{pid}", headers=world.auth("finance"))
        listed = await http.get("/v1/balances", headers=world.auth("finance"))
    assert one.json()["amount"] == "20.50" and one.json()["state"] == "active"
    assert one.headers["X-Read-Model-As-Of"].startswith("2026-")
    assert listed.json()["as_of"] == one.headers["X-Read-Model-As-Of"]


async def test_a_statement_prices_the_clients_usage_with_the_partners_markup(world):
    """3 messages at 0.3393 cost with 15 % markup: 0.39; the CSV says the same."""
    pid = first_partner(world, "direct_paid")
    cl, ch = next(iter(world.partners[pid]["clients"].items()))
    h = world.auth(f"partner:{pid}")
    async with world.api() as http:
        assert (await http.put(f"/v1/partners/{pid}/markups/marketing", json={"percent": "15"},
                               headers=h)).status_code == 200
        s = (await http.get(f"/v1/partners/{pid}/statements/{cl}/{MONTH}", headers=h)).json()
        csv = (await http.get(f"/v1/partners/{pid}/statements/{cl}/{MONTH}/csv", headers=h)).text
    assert [(x["channel_id"], x["messages"], x["cost"], x["markup_percent"], x["price"]) for x in s["lines"]] == [
        (ch, 3, "0.3393", "15.00", "0.39")]
    assert f"{pid},{cl},{MONTH},USD,{ch},marketing,3,0.3393,15.00,0.39" in csv


async def test_a_forecast_paces_a_balance_by_the_usage_that_debited_it(world):
    """A Partner-Paid partner's pace is all its channels' usage of the 7 days; a Direct-Paid channel's its own."""
    pp, dp = first_partner(world), first_partner(world, "direct_paid")
    dp_channel = next(iter(world.partners[dp]["clients"].values()))
    async with world.api() as http:
        shared = (await http.get(f"/v1/balances/{pp}/forecast", headers=world.auth(f"partner:{pp}"))).json()
        own = (await http.get(f"/v1/balances/{dp_channel}/forecast", headers=world.auth(f"partner:{dp}"))).json()
    # Two channels × 0.3393 on 2026-10-20 for the partner, one for the channel, in the 7 days ending 2026-10-21.
    assert (shared["amount"], shared["spend_per_day"], shared["zero_on"]) == ("20.50", "0.096943", "2027-05-20")
    assert (own["amount"], own["spend_per_day"], own["zero_on"]) == ("10.50", "0.048471", "2027-05-25")
    assert (shared["window_start"], shared["window_end"]) == ("2026-10-15", "2026-10-21")


async def test_the_hot_reads_answer_byte_for_byte_as_their_fastapi_routes(world):
    """Answered in front of FastAPI or by its routes, a hot read has the same status, headers and body."""
    ctx = Context(lambda: world.pool, PortalSettings(key_cache_s=0), clock=lambda: NOW)
    await ctx.as_of.refresh()
    app = create_api(ctx)

    async def through_fastapi(scope, receive, send):
        await FastAPI.__call__(app, scope, receive, send)

    pid, dp = first_partner(world), first_partner(world, "direct_paid")
    channel = next(iter(world.partners[dp]["clients"].values()))
    reads = [("finance", "/v1/balances?limit=2"), (f"partner:{pid}", f"/v1/balances/{pid}"),
             (f"partner:{dp}", f"/v1/balances/{channel}/forecast"), (f"partner:{dp}", f"/v1/usage?month={MONTH}"),
             (f"partner:{dp}", f"/v1/usage?month={MONTH}&channel_id={channel}&limit=1"),
             (f"partner:{pid}", f"/v1/invoices?period={MONTH}&limit=1"), ("finance", "/v1/invoices")]
    hot = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")
    framework = httpx.AsyncClient(transport=httpx.ASGITransport(app=through_fastapi), base_url="http://portal")
    async with hot, framework:
        for label, path in reads:
            where, _, query = path.partition("?")
            assert route(where, query.encode()) is not None, path  # answered in front of FastAPI
            a, b = await hot.get(path, headers=world.auth(label)), await framework.get(path, headers=world.auth(label))
            assert a.status_code == b.status_code == 200, (path, a.text, b.text)
            assert (a.headers.raw, a.content) == (b.headers.raw, b.content), path
