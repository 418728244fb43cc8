"""The balance service's inputs, as the consumer calls them (the use cases are tested in test_service)."""

from datetime import UTC, datetime

from services.balance import handlers
from shared.topics import DIRECTORY
from tests.builders import channel, client, partner

from .fakes import FakeBalanceStore, FakeUnitOfWork, Feed

NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)


async def test_a_directory_batch_applies_the_payments_held_for_the_balances_it_opened_before_its_offsets_move():
    """A payment read before the record that opened its balance must be applied before that record's
    offset is committed: a month close that waits for the directory counts on it."""
    steps: list[str] = []
    store = FakeBalanceStore(now=NOW)

    async def flush() -> None:
        steps.append("flush")

    async def retry_held() -> None:
        steps.append(f"retry held, {len(store.balances)} balances open")

    directory = next(i for i in handlers.inputs(FakeUnitOfWork(store), flush, 600.0, retry_held,
                                                clock=lambda: NOW) if i.topic == DIRECTORY)
    batch = Feed().directory(partner("acmePA", "direct_paid", "USD"), client("bobCL", "acmePA"),
                             channel("acmeCH1", "bobCL", "acmePA"))
    assert await directory.process(batch) == []
    assert steps == ["retry held, 1 balances open"]
