"""Usage priced in volume-tier bands: the ledger keeps each entry's band, a closing's lines break down by it."""

from decimal import Decimal

from shared.contracts import BalanceClosing, UsageLine

from .test_service import usage, world  # noqa: F401  (the fixture)

D = Decimal


def banded(usage_id: str, rate: str, tier_from: int | None, at: str = "2026-10-20T10:15:01Z",
           category: str = "utility") -> dict:
    body = usage(usage_id, amount=rate, at=at, category=category)
    if tier_from is not None:
        body["tier_from"] = tier_from
    return body


def line(quantity: int, amount: str, rate: str | None = None, tier_from: int | None = None,
         month: str = "2026-10", category: str = "utility") -> UsageLine:
    return UsageLine(channel_id="acmeCH0001", client_id="bobCL", category=category, usage_month=month,
                     quantity=quantity, amount=D(amount), rate=D(rate) if rate else None, tier_from=tier_from)


async def closing(world, month: str) -> BalanceClosing:
    [c] = [c for c in (await world.close(month)).closed if isinstance(c, BalanceClosing)]
    return c


async def test_a_closing_breaks_banded_usage_down_by_band_and_keeps_unbanded_usage_in_one_line(world):
    """Three at the list rate, two at band 3, one at band 5, plus unbanded marketing: exact amounts per line."""
    await world.usage(*(banded(f"wamid.L{i}", "0.0456", 0) for i in range(3)),
                      *(banded(f"wamid.T{i}", "0.0433", 3) for i in range(2)), banded("wamid.F", "0.041", 5),
                      banded("wamid.M1", "0.1131", None, category="marketing"),
                      banded("wamid.M2", "0.0592", None, category="marketing"))
    c = await closing(world, "2026-10")
    assert c.usage_lines == [line(2, "0.1723", category="marketing"), line(3, "0.1368", "0.0456", 0),
                             line(2, "0.0866", "0.0433", 3), line(1, "0.041", "0.041", 5)]
    assert c.usage == sum((ln.amount for ln in c.usage_lines), D(0)) == D("0.4367")


async def test_late_banded_usage_keeps_its_band_in_the_month_it_is_booked_to(world):
    """October's fourth utility message, debited after October closed, shows in November with its band."""
    await world.usage(*(banded(f"wamid.L{i}", "0.0456", 0) for i in range(3)))
    await closing(world, "2026-10")
    await world.usage(banded("wamid.late", "0.0433", 3, at="2026-10-31T23:59:59Z"))
    assert (await closing(world, "2026-11")).usage_lines == [line(1, "0.0433", "0.0433", 3)]
    assert [e.entry.tier_from for e in world.store.ledger if e.entry.business_id == "wamid.late"] == [3]
