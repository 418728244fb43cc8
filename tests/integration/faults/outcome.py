"""The one outcome of the fault month, to the cent: balances, invoices, and the reconciliation."""

import json
from decimal import Decimal

from ops.reconcile import reconcile
from shared.contracts import Invoice
from shared.topics import INVOICES

from ..kafka_io import collect
from ..pipeline import connect, numbers_have_no_gap
from .month import FaultMonth

# (kind, recipient, channel) → (subtotal, tax, total). Partner P: plan Growth 500.00 and licenses
# A 25.00, B (premium) 49.00 for the month and the next, 19 % VAT; the card fee is 4 % of the payment.
# Partner Q: plan Growth for both months, outside the scope of VAT (US). Client C2 (FR): each channel's
# license on channel.added and for the next month, its prepayment, its month closing.
INVOICES_EXPECTED = {
    ("prepayment", "P", None): ("100.00", "19.00", "119.00"),
    ("subscription", "P", None): ("1148.00", "218.12", "1366.12"),
    ("month_closing", "P", None): ("4.00", "0.76", "4.76"),
    ("partner_plan", "Q", None): ("1000.00", "0.00", "1000.00"),
    **{(kind, "C2", ch): amounts for ch in ("D", "E") for kind, amounts in {
        "license_prorated": ("25.00", "4.75", "29.75"),
        "prepayment": ("50.00", "9.50", "59.50"),
        "license": ("25.00", "4.75", "29.75"),
        "month_closing": ("2.00", "0.38", "2.38")}.items()},
}
# Usage lines of each month closing: (channel, category, messages, amount).
USAGE_LINES = {
    "P": [("A", "marketing", "140", "15.83"), ("B", "utility", "100", "4.56")],   # 15.834 + 4.56
    "D": [("D", "marketing", "120", "16.38")],
    "E": [("E", "marketing", "80", "10.92")],
}
SUMMARIES = {
    "P": {"starting_balance": "0.00", "added_funds": "100.00", "credits": "0.00", "usage": "20.394",
          "refunds": "0.00", "ending_balance": "79.606"},
    "D": {"starting_balance": "0.00", "added_funds": "50.00", "credits": "0.00", "usage": "16.38",
          "refunds": "0.00", "ending_balance": "33.62"},
    "E": {"starting_balance": "0.00", "added_funds": "50.00", "credits": "0.00", "usage": "10.92",
          "refunds": "0.00", "ending_balance": "39.08"},
}
BALANCES = {"P": Decimal("79.606"), "D": Decimal("33.62"), "E": Decimal("39.08")}


async def assert_exact_outcome(stack, fm: FaultMonth, timeout_s: float = 150) -> None:
    """Every invoice once (copies identical), each amount to the cent, the balances to the micro-unit,
    the reconciliation clean and invoice numbers without a gap."""
    partners = (fm.id("P"), fm.id("Q"))
    records = await collect(stack.bootstrap, INVOICES.name, lambda r: json.loads(r.value)["partner_id"] in partners,
                            len(INVOICES_EXPECTED), timeout_s=timeout_s,
                            identity=lambda r: json.loads(r.value)["invoice_id"])
    copies: dict[str, set[bytes]] = {}
    for r in records:
        copies.setdefault(json.loads(r.value)["invoice_id"], set()).add(r.value)
    assert all(len(values) == 1 for values in copies.values()), "a re-published invoice is the same invoice"
    invoices = [Invoice.model_validate_json(next(iter(v))) for v in copies.values()]
    role = {fm.id(r): r for r in ("P", "Q", "C1", "C2", "A", "B", "D", "E")}

    got = {(i.kind, role[i.recipient.id], role.get(i.channel_id)): (str(i.subtotal), str(i.tax.amount),
                                                                     str(i.total)) for i in invoices}
    assert got == INVOICES_EXPECTED
    for i in (i for i in invoices if i.kind == "month_closing"):
        who = role[i.channel_id] if i.channel_id else "P"
        lines = json.loads(i.model_dump_json())["lines"]
        assert [(role[ln["channel_id"]], ln["category"], ln["quantity"], ln["amount"])
                for ln in lines if ln["code"] == "usage"] == USAGE_LINES[who]
        assert json.loads(i.model_dump_json())["summary"] == SUMMARIES[who]

    assert await balances(stack, fm) == BALANCES
    checks = await reconcile(stack.db, settle_s=60)
    assert [(c.name, p) for c in checks for p in c.problems] == [], "the reconciliation passes"
    await numbers_have_no_gap(stack)


async def balances(stack, fm: FaultMonth) -> dict[str, Decimal]:
    conn = await connect(stack)
    try:
        rows = await conn.fetch("SELECT owner_id, amount FROM balance.balances WHERE owner_id = ANY($1)",
                                [fm.id(r) for r in BALANCES])
    finally:
        await conn.close()
    return {r["owner_id"].removeprefix(fm.unique): r["amount"].normalize() for r in rows}
