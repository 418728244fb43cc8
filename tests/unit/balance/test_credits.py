"""Credit notes settled to a balance (`billing.internal.balance-credits.v1`) through the balance use cases.

Each credit is booked once under the credit note's id, to the earliest open
month, announces the crossings it causes, and shows in that month's closing
as `credits` with the chain `ending = starting + added + credits - usage -
refunds` exact.
"""

from decimal import Decimal
from typing import Any

from services.balance import credits
from shared.contracts import BalanceClosing, ErrorCode

from .test_service import ACME, GLOBEX7, NOW, Step, World, empty, payment, usage, world

__all__ = ["empty", "world"]  # fixtures of test_service.py, used here

D = Decimal


def balance_credit(note: str, balance: dict[str, str] = ACME, amount: str = "11.90",
                   at: str = "2026-11-20T09:00:00Z", currency: str | None = None) -> dict[str, Any]:
    """What invoicing publishes for credit note `note` settled to `balance`."""
    direct = "channel_id" in balance
    return {"credit_id": f"00000000-0000-4000-8000-{note:0>12}", "number": f"CN-2026-{note:0>6}",
            "corrects_invoice_id": "5b0c2f0e-0000-4000-8000-000000000042", "balance": balance,
            "partner_id": "globexPA" if direct else "acmePA", "client_id": "initechCL" if direct else None,
            "billing_model": "direct_paid" if direct else "partner_paid",
            "currency": currency or ("USD" if direct else "EUR"), "amount": amount, "issued_at": at}


async def credit(w: World, *bodies: dict[str, Any]) -> Step:
    return await w._step(credits.apply_credits(w.uow, w.feed.credits(*bodies), NOW))


async def test_a_credit_raises_the_balance_once_under_the_credit_notes_id(world):
    """11.90 on acmePA; the same credit again, in the batch or later, moves nothing more."""
    await credit(world, balance_credit("1"), balance_credit("1"))
    await credit(world, balance_credit("1"))
    assert world.amount("acmePA") == D("11.90")
    [entry] = world.store.entries("acmePA")
    assert (entry.kind, entry.business_id, entry.amount, entry.booked_month) == (
        "credit", "00000000-0000-4000-8000-000000000001", D("11.90"), "2026-11")


async def test_a_credit_is_booked_to_the_earliest_open_month(world):
    """October is closed and the credit is issued in December: it belongs to November, whose closing is the
    next to come."""
    await world.close("2026-10")
    await credit(world, balance_credit("1", at="2026-12-02T09:00:00Z"))
    assert world.store.entries("acmePA")[0].booked_month == "2026-11"


async def test_a_credit_that_lifts_a_depleted_balance_above_zero_announces_restored(world):
    """acmePA at -0.1131 (depleted) + 11.90: balance.restored with its active channels, at the credit's time."""
    await world.usage(usage("wamid.1"))
    step = await credit(world, balance_credit("1"))
    assert step.types == ["balance.restored"]
    [restored] = step.events
    assert (restored.balance_amount, restored.channel_ids, restored.at.isoformat()) == (
        D("11.7869"), ["acmeCH0001", "acmeCH0002"], "2026-11-20T09:00:00+00:00")


async def test_a_credit_that_stays_below_zero_or_stays_above_announces_nothing(world):
    """-20.1131 + 11.90 is still depleted; a funded balance credited again crosses nothing."""
    await world.usage(usage("wamid.1", amount="20.1131"))
    assert (await credit(world, balance_credit("1"))).types == []
    assert world.amount("acmePA") == D("-8.2131")
    await world.payments(payment("pay_1", amount="100.00"))
    assert (await credit(world, balance_credit("2"))).types == []


async def test_a_direct_paid_credit_goes_to_the_channels_balance(world):
    """globexCH0007's own balance, in USD."""
    await credit(world, balance_credit("7", GLOBEX7, "29.75"))
    assert (world.amount("globexCH0007"), world.amount("acmePA")) == (D("29.75"), D(0))


async def test_a_credit_for_a_balance_not_opened_yet_opens_it(empty):
    """The credit can be read before the directory: it carries what opening its balance needs."""
    await credit(empty, balance_credit("7", GLOBEX7, "29.75"))
    b = empty.store.balances["globexCH0007"]
    assert (b.kind, b.partner_id, b.client_id, b.billing_model, b.currency, b.amount) == (
        "channel", "globexPA", "initechCL", "direct_paid", "USD", D("29.75"))


async def test_a_credit_in_another_currency_than_the_balance_is_refused(world):
    """acmePA is in EUR: a USD credit is refused as currency_mismatch and moves nothing."""
    step = await credit(world, balance_credit("1", currency="USD"), balance_credit("2"))
    assert step.codes == [(0, ErrorCode.CURRENCY_MISMATCH)] and world.amount("acmePA") == D("11.90")


async def test_the_months_closing_shows_its_credits_and_the_chain_holds(world):
    """November: starting 100.00, usage 0.1131, a refund of 30.00 and a credit of 11.90:
    ending 100.00 + 0 + 11.90 - 0.1131 - 30.00 = 81.7869, November's start of December."""
    await world.payments(payment("pay_1", amount="100.00", at="2026-10-18T08:00:00Z"))
    await world.close("2026-10")
    await world.usage(usage("wamid.1", at="2026-11-03T10:00:00Z"))
    await world.payments({"type": "refund.succeeded", "refund_id": "ref_1", "account": ACME, "amount": "30.00",
                          "currency": "EUR", "refunded_at": "2026-11-04T08:00:00Z"})
    await credit(world, balance_credit("1"))
    [closing] = [c for c in (await world.close("2026-11")).closed
                 if isinstance(c, BalanceClosing) and c.balance.owner_id == "acmePA"]
    assert (closing.starting_balance, closing.added_funds, closing.credits, closing.usage, closing.refunds,
            closing.ending_balance) == (D("100.00"), D("0.00"), D("11.90"), D("0.1131"), D("30.00"), D("81.7869"))
    assert world.amount("acmePA") == closing.ending_balance
