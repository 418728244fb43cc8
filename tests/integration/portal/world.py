"""A read model on the real PostgreSQL, fed through the portal's own use cases, and its API in process.

Two partners of each billing model, each with two clients and a channel per
client; usage, moves, invoices, documents, events and payments for every one
of them; and an API key per partner, per client and for finance.
"""

import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from services.portal.adapters.model import unit_of_work
from services.portal.adapters.visibility import QueryFilters
from services.portal.api.app import create_api
from services.portal.api.context import Context
from services.portal.domain.keys import new_key
from services.portal.domain.principals import Principal
from services.portal import service
from shared.contracts import decode
from shared.dead_letters import Accepted
from shared.db import create_pool, migrate_async
from shared.settings import PortalSettings
from shared.topics import (BALANCE_EVENTS, BALANCE_MOVES, DIRECTORY, INVOICE_DOCUMENTS, INVOICES, LEDGER_ENTRIES,
                           USAGE_DAYS)
from tests.builders import channel, client, partner
from tests.unit.fakes import consumer_record

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "portal" / "migrations"
MONTH = "2026-10"
NOW = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)  # the day after the world's usage
PDF = b"%PDF-1.7\n% a document as issued\n%%EOF\n"


def partners_of(tag: str) -> dict[str, dict[str, Any]]:
    """pp1, pp2 (Partner-Paid, EUR) and dp1, dp2 (Direct-Paid, USD); two clients and channels each."""
    out = {}
    for name, model, currency in (("pp1", "partner_paid", "EUR"), ("pp2", "partner_paid", "EUR"),
                                  ("dp1", "direct_paid", "USD"), ("dp2", "direct_paid", "USD")):
        pid = f"{tag}{name}PA"
        clients = {f"{tag}{name}c{i}CL": f"{tag}{name}c{i}CH" for i in (1, 2)}
        out[pid] = {"model": model, "currency": currency, "clients": clients}
    return out


@dataclass
class World:
    pool: asyncpg.Pool
    tag: str
    partners: dict[str, dict[str, Any]]
    keys: dict[str, str] = field(default_factory=dict)  # principal label → key
    offset: int = 0

    def owner_of_channel(self, pid: str, ch: str) -> str:
        return pid if self.partners[pid]["model"] == "partner_paid" else ch

    async def feed(self, topic: str, key: str, bodies: list[dict[str, Any]]) -> list:
        batch = []
        for body in bodies:
            value = json.dumps(body).encode()
            self.offset += 1
            record = consumer_record(topic, self.offset, key.encode(), value)
            record.timestamp = 1_792_000_000_000 + self.offset
            batch.append(Accepted(record, decode(topic, value, max_bytes=1 << 24)))
        return await service.apply(unit_of_work(lambda: self.pool), topic, batch)

    async def populate(self) -> None:
        for pid, p in self.partners.items():
            directory = [partner(pid, p["model"], p["currency"])]
            for cl, ch in p["clients"].items():
                directory += [client(cl, pid), channel(ch, cl, pid)]
            await self.feed(DIRECTORY.name, pid, directory)
            for n, (cl, ch) in enumerate(p["clients"].items(), start=1):
                owner = self.owner_of_channel(pid, ch)
                account = {"partner_id": owner} if owner == pid else {"channel_id": owner}
                await self.feed(BALANCE_MOVES.name, owner, [{
                    "move_id": f"{owner}/{n}", "balance": account, "partner_id": pid,
                    "client_id": None if owner == pid else cl, "billing_model": p["model"],
                    "currency": p["currency"], "amount": f"{10 * n}.50", "version": n,
                    "updated_at": "2026-10-20T10:00:00Z"}])
                await self.feed(USAGE_DAYS.name, ch, [{
                    "usage_day_id": f"{ch}/2026-10-20/marketing/1", "channel_id": ch, "client_id": cl,
                    "partner_id": pid, "billing_model": p["model"], "currency": p["currency"], "day": "2026-10-20",
                    "category": "marketing", "charged": 3, "free": 1, "amount": "0.3393", "version": 1}])
                await self.feed(BALANCE_EVENTS.name, owner, [{
                    "type": "balance.restored", "event_id": f"ev-{ch}", "balance": account, "balance_amount": "10.50",
                    "currency": p["currency"], "at": "2026-10-20T09:00:00Z", "channel_ids": [ch]}])
                await self.feed(LEDGER_ENTRIES.name, owner, [{
                    "entry_id": f"pay-{ch}", "kind": "payment", "balance": account, "partner_id": pid,
                    "client_id": None if owner == pid else cl, "channel_id": None if owner == pid else ch,
                    "billing_model": p["model"], "currency": p["currency"], "amount": "20.00", "method": "card",
                    "occurred_at": "2026-10-19T08:00:00Z", "booked_month": MONTH, "balance_after": "20.00"}])
                recipient = ({"type": "partner", "id": pid} if p["model"] == "partner_paid"
                             else {"type": "client", "id": cl})
                invoice_id = f"inv-{ch}"
                await self.feed(INVOICES.name, recipient["id"], [invoice(invoice_id, n, pid, cl, ch, p, recipient)])
                await self.feed(INVOICE_DOCUMENTS.name, invoice_id, [document(invoice_id, pid, recipient["id"])])

    async def make_keys(self) -> None:
        principals = [Principal("finance")] + [Principal("partner", pid) for pid in self.partners] + [
            Principal("client", cl) for p in self.partners.values() for cl in p["clients"]]
        for principal in principals:
            key = new_key()
            await self.pool.execute("INSERT INTO api_keys (key_id, key_hash, prefix, principal_kind, principal_id) "
                                    "VALUES ($1, $2, 'wab_live_', $3, $4)", key.key_id, key.hash, principal.kind,
                                    principal.id)
            self.keys[principal.label] = key.key

    @asynccontextmanager
    async def api(self, filters: QueryFilters | None = None, **settings: Any):
        ctx = Context(lambda: self.pool, PortalSettings(key_cache_s=0, **settings),
                      filters=filters or QueryFilters(), clock=lambda: NOW)
        await ctx.as_of.refresh()
        app = create_api(ctx)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as http:
            yield http

    def auth(self, label: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[label]}"}


def invoice(invoice_id: str, n: int, pid: str, cl: str, ch: str, p: dict, recipient: dict) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "number": f"INV-2026-{zlib.crc32(invoice_id.encode()) % 900000 + 100000}",
            "kind": "license" if p["model"] == "direct_paid" else "subscription", "billing_model": p["model"],
            "recipient": {**recipient, "name": "Someone", "country": "DE", "vat_id": None},
            "partner_id": pid, "client_id": cl if p["model"] == "direct_paid" else None,
            "channel_id": ch if p["model"] == "direct_paid" else None, "period": "2026-11",
            "issued_at": f"2026-11-01T00:00:0{n}Z", "currency": p["currency"],
            "lines": [{"code": "license", "description": f"License regular, {ch}, 2026-11", "quantity": "1",
                       "unit_price": "25.00", "amount": "25.00", "service_month": "2026-11", "client_id": cl,
                       "channel_id": ch}],
            "subtotal": "25.00", "tax": {"treatment": "standard", "rate": "0.19", "amount": "4.75"},
            "total": "29.75", "summary": None}


def document(invoice_id: str, pid: str, recipient_id: str, content: bytes = PDF) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "number": "INV-2026-000001", "partner_id": pid, "recipient_id": recipient_id,
            "format": "pdf", "media_type": "application/pdf", "filename": f"{invoice_id}.pdf",
            "sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
            "issued_at": "2026-11-01T00:00:01Z", "content_base64": base64.b64encode(content).decode()}


@asynccontextmanager
async def read_model(db, tag: str):
    """The portal's schema migrated in `db`, a pool on it, and the world in it."""
    await migrate_async(db, "portal", MIGRATIONS)
    pool = await create_pool(db, "portal", "portal-test")
    try:
        world = World(pool, tag, partners_of(tag))
        await world.populate()
        await world.make_keys()
        yield world
    finally:
        await pool.close()
