"""Invoicing started on an earlier copy of its database (a restore) records again the invoices it had published
since, under their numbers and content, issues none of them again, and numbers on after them."""

import asyncio
import json

from ops.reconcile import invoices_match_their_topic, numbers_gapless
from services.invoicing.domain.documents import invoice_id
from shared.contracts import LedgerEntry, encode
from shared.settings import KafkaSettings
from shared.topics import DIRECTORY, INVOICES, LEDGER_ENTRIES
from tests.builders import partner

from .kafka_io import collect, publish
from .pipeline import connect, service
from .test_stored_positions import copy_of


def prepaid(unique: str, owner: str, n: int) -> tuple[bytes, bytes]:
    """Payment `n` of `owner`, as the ledger announces it: one prepayment invoice each."""
    entry = LedgerEntry(entry_id=f"{unique}-pay{n}", kind="payment", balance={"partner_id": owner},
                        partner_id=owner, billing_model="partner_paid", currency="EUR", amount=f"{10 * n}.00",
                        method="card", occurred_at="2026-10-05T08:00:00Z", booked_month="2026-10",
                        balance_after=f"{10 * n}.00")
    return owner.encode(), encode(entry)


async def stored(stack, ids: list[str]) -> dict[str, str]:
    """invoice id → its number, for those of `ids` the database holds."""
    conn = await connect(stack)
    try:
        rows = await conn.fetch("SELECT invoice_id::text, number FROM invoicing.invoices WHERE invoice_id::text = ANY($1)",
                                ids)
        return {r["invoice_id"]: r["number"] for r in rows}
    finally:
        await conn.close()


async def until_stored(stack, ids: list[str], timeout_s: float = 90) -> dict[str, str]:
    for _ in range(int(timeout_s / 0.2)):
        if len(found := await stored(stack, ids)) == len(ids):
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"invoices {ids} were not all issued")


async def test_invoicing_on_a_restored_database_adopts_what_it_published_since_and_numbers_on(
        own_database, unique, tmp_path):
    stack, owner = own_database, f"{unique}PA"
    ids = [invoice_id("prepayment", f"{unique}-pay{n}") for n in (1, 2, 3, 4)]
    await publish(stack.bootstrap, DIRECTORY.name, [(owner.encode(), json.dumps(partner(owner)).encode())])
    await publish(stack.bootstrap, LEDGER_ENTRIES.name, [prepaid(unique, owner, 1)])
    with service(stack, unique, "invoicing", tmp_path):
        await until_stored(stack, ids[:1])
    async with copy_of(stack, f"{stack.db.name}_copy") as restored:
        await publish(stack.bootstrap, LEDGER_ENTRIES.name, [prepaid(unique, owner, 2), prepaid(unique, owner, 3)])
        with service(stack, unique, "invoicing", tmp_path):
            before = await until_stored(stack, ids[:3])
        published = {json.loads(r.value)["invoice_id"]: r.value for r in await collect(
            stack.bootstrap, INVOICES.name, lambda r: json.loads(r.value)["partner_id"] == owner, 3,
            identity=lambda r: json.loads(r.value)["invoice_id"])}

        with service(restored, unique, "invoicing", tmp_path, instance="-restored"):
            await publish(stack.bootstrap, LEDGER_ENTRIES.name, [prepaid(unique, owner, 4)])
            after = await until_stored(restored, ids)
            conn = await connect(restored)
            try:
                rows = await conn.fetch("SELECT invoice_id::text, invoice::text FROM invoicing.invoices "
                                        "WHERE invoice_id::text = ANY($1)", ids[:3])
                checks = [await invoices_match_their_topic(conn, KafkaSettings(bootstrap_servers=stack.bootstrap)),
                          await numbers_gapless(conn)]
            finally:
                await conn.close()

    assert {i: after[i] for i in ids[:3]} == before, "the same invoices under the same numbers"
    assert {r["invoice_id"]: json.loads(r["invoice"]) for r in rows} == {i: json.loads(v) for i, v in published.items()}
    _, year, last = max(before.values()).split("-")
    assert after[ids[3]] == f"INV-{year}-{int(last) + 1:06d}", "the next invoice numbers on after them"
    assert [(c.name, p) for c in checks for p in c.problems] == []
