"""Nothing crosses between tenants: every route, as every kind of principal, against two partners of each model.

Each route is called for every object of every partner; what the principal may
see answers as it should, everything else answers 404 exactly like something
that does not exist (never 403). The whole test runs twice: with the queries'
own filters, and with them removed (a test double), so row-level security
alone must hold.
"""

import pytest

from services.portal.adapters.visibility import NoQueryFilters, QueryFilters
from services.portal.domain.principals import Principal

from .world import MONTH, World


def objects(world: World) -> list[dict]:
    """Every channel with its balance, invoice and owners."""
    out = []
    for pid, p in world.partners.items():
        for cl, ch in p["clients"].items():
            owner = world.owner_of_channel(pid, ch)
            out.append({"partner": pid, "client": cl, "channel": ch, "balance": owner,
                        "balance_client": None if owner == pid else cl, "invoice": f"inv-{ch}",
                        "invoice_client": cl if p["model"] == "direct_paid" else None})
    return out


def principals(world: World) -> list[Principal]:
    return [Principal.parse(label) for label in world.keys]


@pytest.mark.parametrize("filters", [QueryFilters(), NoQueryFilters()], ids=["queries-and-rls", "rls-alone"])
async def test_every_route_as_every_principal_shows_only_its_own_and_404s_the_rest(world, filters):
    """Balances, forecasts, top-ups, invoices and documents, usage, markups and statements, for 13 principals."""
    objs = objects(world)
    async with world.api(filters=filters) as http:
        for principal in principals(world):
            h = world.auth(principal.label)
            for o in objs:
                sees_balance = principal.sees(o["partner"], o["balance_client"])
                for path in (f"/v1/balances/{o['balance']}", f"/v1/balances/{o['balance']}/forecast"):
                    r = await http.get(path, headers=h)
                    assert r.status_code == (200 if sees_balance else 404), (principal, path, r.text)
                    if not sees_balance:
                        assert r.json()["error"]["code"] == "not_found"
                r = await http.post(f"/v1/balances/{o['balance']}/topup-requests", json={"amount": "5.00"},
                                    headers={**h, "Idempotency-Key": f"iso-{filters.__class__.__name__}-{o['balance']}"})
                assert r.status_code in ((200, 201) if sees_balance else (404,)), (principal, o, r.text)

                sees_invoice = principal.sees(o["partner"], o["invoice_client"])
                for suffix, ok in (("", 200), ("/pdf", 200)):
                    r = await http.get(f"/v1/invoices/{o['invoice']}{suffix}", headers=h)
                    assert r.status_code == (ok if sees_invoice else 404), (principal, o, suffix)
                r = await http.get(f"/v1/invoices/{o['invoice']}/xml", headers=h)
                assert r.status_code == 404
                assert r.json()["error"]["code"] == ("document_not_ready" if sees_invoice else "not_found")

                r = await http.get("/v1/usage", params={"month": MONTH, "channel_id": o["channel"]}, headers=h)
                sees_usage = principal.sees(o["partner"], o["client"])
                assert r.status_code == 200 and len(r.json()["data"]) == (1 if sees_usage else 0), (principal, o)

                sees_partner = principal.sees(o["partner"], None)
                r = await http.get(f"/v1/partners/{o['partner']}/markups", headers=h)
                assert r.status_code == (200 if sees_partner else 404)
                r = await http.put(f"/v1/partners/{o['partner']}/markups/marketing", json={"percent": "10"},
                                   headers=h)
                assert r.status_code == (404 if not sees_partner else 200 if principal.kind == "partner" else 403)
                r = await http.get(f"/v1/partners/{o['partner']}/statements/{o['client']}/{MONTH}", headers=h)
                assert r.status_code == (200 if sees_partner else 404), (principal, o)

            await _lists_hold_exactly_the_visible(http, h, principal, objs)


async def _lists_hold_exactly_the_visible(http, h, principal: Principal, objs: list[dict]) -> None:
    balances = {o["balance"] for o in objs if principal.sees(o["partner"], o["balance_client"])}
    got = (await http.get("/v1/balances", params={"limit": 100}, headers=h)).json()["data"]
    assert {b["owner"].get("partner_id") or b["owner"].get("channel_id") for b in got} >= balances
    assert all(principal.sees(b["partner_id"], b["client_id"]) for b in got)
    invoices = {o["invoice"] for o in objs if principal.sees(o["partner"], o["invoice_client"])}
    got = (await http.get("/v1/invoices", params={"limit": 100}, headers=h)).json()["data"]
    assert {i["invoice_id"] for i in got} >= invoices
    assert all(i["invoice_id"] in invoices or principal.kind == "finance" for i in got)
    usage = {o["channel"] for o in objs if principal.sees(o["partner"], o["client"])}
    got = (await http.get("/v1/usage", params={"month": MONTH, "limit": 100}, headers=h)).json()["data"]
    assert {u["channel_id"] for u in got} == usage or principal.kind == "finance"


async def test_without_a_principal_the_reader_role_sees_no_row(world):
    """A transaction as the reader that names nobody (a bug, a pooled connection) sees nothing at all."""
    async with world.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('role', 'billing_portal_reader', true)")
        for table in ("partners", "clients", "channels", "balances", "usage_days", "invoices", "payments",
                      "dead_letters", "months"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        assert not await conn.fetchval("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'balances' "
                                    "AND schemaname = 'portal'")
        assert owner != "billing_portal_reader"


async def test_the_principal_does_not_outlive_its_transaction(world):
    """set_config(..., true): after the transaction the pooled connection is back to its own role, unnamed."""
    async with world.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT set_config('role', 'billing_portal_reader', true), "
                               "set_config('portal.kind', 'finance', true)")
        assert await conn.fetchval("SELECT current_user") != "billing_portal_reader"
        assert (await conn.fetchval("SELECT current_setting('portal.kind', true)")) in ("", None)
