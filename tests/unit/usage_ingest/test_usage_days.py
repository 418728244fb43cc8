"""What usage ingest tells the portal: running totals per channel, day and category, one record per group and batch."""

from datetime import date
from decimal import Decimal

from services.usage_ingest import service
from tests.builders import pricing, status

from .test_service import KEYS, NOW, REGULAR, world  # noqa: F401  (the fixture)


async def test_a_batch_sums_charged_and_free_messages_per_channel_day_and_category(world):  # noqa: F811
    """Three charged and one free message of one day are one record; the next batch raises its version."""
    free = pricing("service", type_="free_customer_service")
    await world.statuses(*(status(f"wamid.{i}", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=REGULAR)
                           for i in range(3)),
                         status("wamid.F", "acmeCH0001", "delivered", "2026-10-20T11:00:00Z", price=free))
    assert [(r.channel_id, r.day, r.category, r.charged, r.free, r.amount, r.version)
            for r in world.store.day_records] == [
        ("acmeCH0001", date(2026, 10, 20), "marketing", 3, 0, Decimal("0.3393"), 1),
        ("acmeCH0001", date(2026, 10, 20), "service", 0, 1, Decimal("0.00"), 1)]
    await world.statuses(status("wamid.4", "acmeCH0001", "read", "2026-10-20T23:59:59Z", price=REGULAR))
    last = world.store.day_records[-1]
    assert (last.charged, last.amount, last.version, last.usage_day_id) == (
        4, Decimal("0.4524"), 2, "acmeCH0001/2026-10-20/marketing/2")
    assert (last.client_id, last.partner_id, last.billing_model) == ("bobCL", "acmePA", "partner_paid")


async def test_a_redelivered_batch_adds_nothing_to_the_day(world):  # noqa: F811
    """Statuses already settled settle nothing again, so no new totals are published."""
    batch = await world.statuses(status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z",
                                        price=REGULAR))
    await service.ingest_statuses(world.uow, batch, NOW, KEYS)
    assert len(world.store.day_records) == 1
