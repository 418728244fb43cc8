"""Volume tiers (§3.3, §4.1): the n-th charged message of a (portfolio, market, category, month) at its band."""

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.usage_ingest import service
from services.usage_ingest.domain.pricing import Bands
from services.usage_ingest.domain.tiers import Charge, TierKey, positions
from tests.builders import DE_NUMBER, EUR_CARD, channel, client, group_status, pricing, ratecard, status

from .fakes import StoreFailure
from .test_service import KEYS, NOW, new_world

# Germany's utility: messages 1–3 at the list rate, 4–5 from band 3, 6 on from band 5.
BANDS = {0: "0.0456", 3: "0.0433", 5: "0.0410"}
TIERED = ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {
    **{(r["market"], r["category"]): r["rate"] for r in EUR_CARD["rates"]}},
    tiers={("Germany", "utility"): BANDS})
UTILITY = pricing("utility")
LIST, TIER_3, TIER_5 = Decimal("0.0456"), Decimal("0.0433"), Decimal("0.0410")


def key(portfolio: str = "bobCL", month: str = "2026-10") -> TierKey:
    return TierKey(portfolio, "Germany", "utility", month)


@pytest.mark.parametrize(("n", "rate", "start"), [
    (1, "0.0456", 0), (3, "0.0456", 0), (4, "0.0433", 3), (5, "0.0433", 3), (6, "0.0410", 5), (10**9, "0.0410", 5)])
def test_the_nth_message_is_priced_at_the_band_that_holds_n_minus_one(n, rate, start):
    """At n = from a band's predecessor still applies; from n = from + 1 the band does."""
    bands = Bands((0, 3, 5), tuple(Decimal(r) for r in BANDS.values()))
    assert bands.at(n) == (Decimal(rate), start)


def test_messages_of_a_key_in_one_batch_are_numbered_by_billing_time_then_id_after_the_count_before():
    """The numbering of a batch is fixed by its content, never by arrival order."""
    at = [datetime(2026, 10, d, tzinfo=UTC) for d in (3, 1, 2, 1)]
    charges = [Charge(key(), t, f"m{i}") for i, t in enumerate(at)] + [Charge(key("other"), at[0], "x")]
    random.Random(1).shuffle(charges)
    assert positions(charges, {key(): 10, key("other"): 0}) == {"m1": 11, "m3": 12, "m2": 13, "m0": 14, "x": 1}


async def tiered_world(**clients: str):
    w = await new_world()
    await w.ratecards(TIERED)
    for client_id, portfolio in clients.items():
        await w.directory(client(client_id, "acmePA", portfolio))
    return w


def utility(mid: str, at: str, channel_id: str = "acmeCH0001", **kw) -> dict:
    return status(mid, channel_id, "delivered", at, price=kw.pop("price", UTILITY), **kw)


def rates(w) -> list[tuple[str, Decimal, int | None]]:
    return [(u.usage_id, u.rate, u.tier_from) for u in w.store.outbox]


async def test_a_shuffled_batch_prices_each_band_at_its_edges_in_billing_time_order():
    """Seven messages in one shuffled batch: 3 at the list rate, 2 at band 3, 2 at band 5, by billing time."""
    w = await tiered_world()
    bodies = [utility(f"wamid.T{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 8)]
    random.Random(3).shuffle(bodies)
    await w.statuses(*bodies)
    assert sorted(rates(w)) == [("wamid.T1", LIST, 0), ("wamid.T2", LIST, 0), ("wamid.T3", LIST, 0),
                                ("wamid.T4", TIER_3, 3), ("wamid.T5", TIER_3, 3), ("wamid.T6", TIER_5, 5),
                                ("wamid.T7", TIER_5, 5)]
    assert [u.amount for u in w.store.outbox] == [u.rate for u in w.store.outbox]
    assert w.store.tier_counts == Counter({key(): 7})


async def test_counts_continue_across_batches_and_a_redelivered_batch_counts_nothing_twice():
    """One message per batch, the third batch delivered twice: n = 3 and n = 4 straddle the band."""
    w = await tiered_world()
    batches = [await w.statuses(utility(f"wamid.T{d}", f"2026-10-0{d}T10:00:00Z")) for d in range(1, 5)]
    assert await service.ingest_statuses(w.uow, batches[2], NOW, KEYS) == []
    assert rates(w)[2:] == [("wamid.T3", LIST, 0), ("wamid.T4", TIER_3, 3)]
    assert w.store.tier_counts == Counter({key(): 4})


async def test_a_month_that_ends_exactly_on_a_boundary_starts_the_next_at_the_list_rate():
    """Three October messages end band 0; 1 November 00:00:00 is November's first; a later October one is
    October's fourth."""
    w = await tiered_world()
    await w.statuses(*(utility(f"wamid.O{d}", f"2026-10-3{d}T10:00:00Z") for d in (0, 1)),
                     utility("wamid.O2", "2026-10-29T10:00:00Z"))
    await w.statuses(utility("wamid.N1", "2026-11-01T00:00:00Z"))
    await w.statuses(utility("wamid.O3", "2026-10-31T23:59:59Z"))
    assert rates(w)[3:] == [("wamid.N1", LIST, 0), ("wamid.O3", TIER_3, 3)]
    assert w.store.tier_counts == Counter({key(): 4, key(month="2026-11"): 1})


async def test_late_usage_continues_its_months_count_whatever_came_after():
    """An October message charged after a busy November takes October's next number, not November's."""
    w = await tiered_world()
    await w.statuses(*(utility(f"wamid.O{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 4)))
    await w.statuses(*(utility(f"wamid.N{d}", f"2026-11-0{d}T10:00:00Z") for d in range(1, 7)))
    await w.statuses(utility("wamid.late", "2026-10-30T10:00:00Z"))
    assert rates(w)[-1] == ("wamid.late", TIER_3, 3)
    assert w.store.tier_counts == Counter({key(): 4, key(month="2026-11"): 6})


async def test_two_clients_sharing_a_portfolio_count_together():
    """bobCL and carlaCL in one business portfolio: three of one and two of the other reach band 3."""
    w = await tiered_world(bobCL="bp-1122", carlaCL="bp-1122")
    await w.directory(channel("acmeCH0002", "carlaCL", "acmePA"))
    await w.statuses(*(utility(f"wamid.B{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 4)))
    await w.statuses(*(utility(f"wamid.C{d}", f"2026-10-1{d}T10:00:00Z", "acmeCH0002") for d in range(1, 3)))
    assert [r for _, r, _ in rates(w)] == [LIST, LIST, LIST, TIER_3, TIER_3]
    assert w.store.tier_counts == Counter({key("bp-1122"): 5})


async def test_a_portfolio_change_counts_later_messages_in_the_new_portfolio_and_moves_nothing():
    """bobCL charged 3 on its own, then joins bp-1122 (which had 3): its next message is bp-1122's 4th."""
    w = await tiered_world(carlaCL="bp-1122")
    await w.directory(channel("acmeCH0002", "carlaCL", "acmePA"))
    await w.statuses(*(utility(f"wamid.C{d}", f"2026-10-0{d}T10:00:00Z", "acmeCH0002") for d in range(1, 4)))
    await w.statuses(*(utility(f"wamid.B{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 4)))
    await w.directory(client("bobCL", "acmePA", "bp-1122"))
    await w.statuses(utility("wamid.B4", "2026-10-20T10:00:00Z"))
    assert rates(w)[-1] == ("wamid.B4", TIER_3, 3)
    assert w.store.tier_counts == Counter({key("bp-1122"): 4, key("bobCL"): 3})


async def test_free_and_failed_messages_are_not_counted():
    """Free types and failures between charged messages leave the count alone."""
    w = await tiered_world()
    free = pricing("utility", "free_customer_service")
    for d in range(1, 5):
        await w.statuses(utility(f"wamid.F{d}", f"2026-10-0{d}T09:00:00Z", price=free),
                         status(f"wamid.X{d}", "acmeCH0001", "failed", f"2026-10-0{d}T09:30:00Z", price=UTILITY),
                         utility(f"wamid.T{d}", f"2026-10-0{d}T10:00:00Z"))
    assert [r for _, r, _ in rates(w)] == [LIST, LIST, LIST, TIER_3]
    assert w.store.tier_counts == Counter({key(): 4})


async def test_a_rate_card_that_adds_bands_mid_month_prices_the_nth_message_counting_the_earlier_ones():
    """Four messages under a card without bands, then a card with bands from the 15th: the 5th and 6th."""
    w = await new_world()
    await w.statuses(*(utility(f"wamid.T{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 5)))
    await w.ratecards({**TIERED, "ratecard_id": "test-2026-10-15-EUR", "effective_from": "2026-10-15"})
    await w.statuses(utility("wamid.T5", "2026-10-16T10:00:00Z"), utility("wamid.T6", "2026-10-17T10:00:00Z"))
    assert rates(w) == [(f"wamid.T{d}", LIST, None) for d in range(1, 5)] + [
        ("wamid.T5", TIER_3, 3), ("wamid.T6", TIER_5, 5)]
    assert [u.ratecard_id for u in w.store.outbox][-1] == "test-2026-10-15-EUR"


async def test_an_unlisted_group_category_counts_and_bands_with_its_base_category():
    """group_utility without a rate of its own is utility: the same count, the same bands."""
    w = await tiered_world()
    await w.statuses(*(utility(f"wamid.T{d}", f"2026-10-0{d}T10:00:00Z") for d in range(1, 4)))
    await w.statuses(group_status("wamid.G", "acmeCH0001", "delivered", "2026-10-05T10:00:00Z", DE_NUMBER,
                                  price=pricing("group_utility")))
    [*_, group] = w.store.outbox
    assert (group.category, group.rate, group.tier_from) == ("group_utility", TIER_3, 3)
    assert w.store.tier_counts == Counter({key(): 4})


async def test_a_failing_transaction_advances_no_count():
    """The count moves with the charge: a batch rolled back leaves both as they were, its retry counts once."""
    w = await tiered_world()
    w.store.fail_on = "emit"
    with pytest.raises(StoreFailure):
        await w.statuses(utility("wamid.T1", "2026-10-01T10:00:00Z"))
    assert w.store.tier_counts == Counter() and w.store.outcomes() == {}
    w.store.fail_on = None
    await w.statuses(utility("wamid.T1", "2026-10-01T10:00:00Z"))
    assert w.store.tier_counts == Counter({key(): 1})
