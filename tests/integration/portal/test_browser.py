"""Debian's Chromium, headless, through the portal as a partner and as a client (and finance).

Sign in with a link, the overview, the balance with its chart, a top-up
request, an invoice download; axe-core (from node_modules) finds no serious
or critical violation on any page. The screenshots land in docs/samples/.
"""

import asyncio
import json
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import uvicorn

from services.portal.api.app import create_api
from services.portal.api.context import Context
from services.portal.domain.principals import Principal
from shared.settings import PortalSettings
from shared.topics import COMMANDS, LEDGER_CLOSE, LEDGER_CLOSED, PAYMENTS, RECONCILIATION, USAGE_DAYS

from ..conftest import free_port
from .world import NOW, PDF

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "docs" / "samples"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

WORLD_TAG = "demo"  # the screenshots name the same partners on every run
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium (deploy/bootstrap.sh)")


async def a_month_of_usage(world) -> None:
    """Three weeks of daily usage for every channel, in two categories, so the charts have a shape."""
    for pid, p in world.partners.items():
        for n, (cl, ch) in enumerate(p["clients"].items(), start=1):
            records = []
            for d in range(21):
                day = (NOW.date() - timedelta(days=20 - d)).isoformat()
                for category, base in (("marketing", 40), ("utility", 15)):
                    charged = base + (d * 7 + n * 13) % 25
                    records.append({"usage_day_id": f"{ch}/{day}/{category}/9", "channel_id": ch, "client_id": cl,
                                    "partner_id": pid, "billing_model": p["model"], "currency": p["currency"],
                                    "day": day, "category": category, "charged": charged, "free": d % 4,
                                    "amount": f"{charged * (0.1131 if category == 'marketing' else 0.0456):.4f}",
                                    "version": 9})
            await world.feed(USAGE_DAYS.name, ch, records)


async def finance_news(world) -> None:
    """A closed month, a dead letter and a reconciliation run, so finance's page has each part."""
    await world.feed(COMMANDS.name, "2026-09", [{"type": "month.close", "command_id": "close-2026-09",
                                                 "month": "2026-09"}])
    await world.feed(LEDGER_CLOSE.name, "2026-09", [{"type": "ledger.close", "close_id": "c9", "month": "2026-09"}])
    await world.feed(LEDGER_CLOSED.name, "2026-09", [{"type": "ledger.closed", "close_id": "c9", "month": "2026-09",
                                                      "balances": 6}])
    await world.feed(f"{PAYMENTS.name}.dlq", "x", [{
        "error": {"code": "unknown_account", "message": "account: no balance for partner_id ghostPA"},
        "source": {"topic": PAYMENTS.name, "partition": 0, "offset": 17, "key": "ghostPA"},
        "payload": "{}", "failed_at": "2026-10-20T08:00:00Z"}])
    await world.feed(RECONCILIATION.name, "reconciliation", [{
        "run_id": "run-1", "ran_at": "2026-10-21T11:55:00Z",
        "checks": [{"name": n, "ok": True, "problems": 0, "examples": []} for n in (
            "every balance equals the sum of its ledger entries", "every charged message is debited exactly once",
            "invoice numbers per year have no gap and no repeat")]}])


@asynccontextmanager
async def served(world):
    ctx = Context(lambda: world.pool, PortalSettings(key_cache_s=0), clock=lambda: NOW)
    await ctx.as_of.refresh()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_api(ctx), host="127.0.0.1", port=port, lifespan="off",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", ctx
    finally:
        server.should_exit = True
        await task


async def no_serious_violations(page, name: str) -> None:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {json.dumps(bad)}"


async def shoot(page, name: str) -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SAMPLES / f"{name}.png"), full_page=True)


async def walk(browser, base: str, ctx: Context, label: str, owner: str, channel: str, name: str) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    await page.goto(f"{base}/signin?token={ctx.signer.link_token(Principal.parse(label))}")
    assert page.url.endswith("/portal")
    await page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length > 0 || "
                                 "document.querySelectorAll('canvas').length === 0")
    await no_serious_violations(page, f"{name} overview")
    await shoot(page, f"portal-{name}-overview")

    async with page.expect_download() as download:
        await page.click(f"a[href='/portal/invoices/inv-{channel}/pdf']")
    assert Path(await (await download.value).path()).read_bytes() == PDF

    await page.goto(f"{base}/portal/balances/{owner}")
    await page.wait_for_selector("canvas[data-drawn]")
    assert await page.locator("table >> text=0.").count() > 0
    await page.fill("#amount", "150.00")
    await page.click("button:has-text('Request top-up')")
    await page.wait_for_selector("#topup-result .ok")
    assert "150.00" in await page.inner_text("#topup-result")
    await no_serious_violations(page, f"{name} balance")
    await shoot(page, f"portal-{name}-balance")
    await page.close()


async def test_a_partner_and_a_client_sign_in_see_their_balance_and_chart_download_an_invoice_and_ask_for_a_top_up(
        world):
    """Partner-Paid partner and Direct-Paid client end to end in Chromium; statement and finance pages too."""
    from playwright.async_api import async_playwright

    await a_month_of_usage(world)
    await finance_news(world)
    pp = next(pid for pid, p in world.partners.items() if p["model"] == "partner_paid")
    pp_channel = next(iter(world.partners[pp]["clients"].values()))
    dp = next(pid for pid, p in world.partners.items() if p["model"] == "direct_paid")
    dp_client, dp_channel = next(iter(world.partners[dp]["clients"].items()))
    async with served(world) as (base, ctx), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            await walk(browser, base, ctx, f"partner:{pp}", pp, pp_channel, "partner")
            await walk(browser, base, ctx, f"client:{dp_client}", dp_channel, dp_channel, "client")
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/signin?token={ctx.signer.link_token(Principal('partner', dp))}")
            await page.goto(f"{base}/portal/statements?client_id={dp_client}&month={NOW.strftime('%Y-%m')}")
            await page.fill("#percent", "25")
            await page.click("button:has-text('Set markup')")
            await page.wait_for_selector("#markup-result .ok")
            await page.reload()
            await no_serious_violations(page, "statement")
            await shoot(page, "portal-partner-statement")
            await page.goto(f"{base}/signin?token={ctx.signer.link_token(Principal('finance'))}")
            await no_serious_violations(page, "finance")
            await shoot(page, "portal-finance")
        finally:
            await browser.close()
    assert date.today() >= NOW.date()
