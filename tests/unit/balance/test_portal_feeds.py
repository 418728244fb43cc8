"""What balance tells the portal: each balance's amount after a move, and the top-ups people ask for."""

from datetime import UTC, datetime

from services.balance import service
from shared.contracts import BalanceMoved, ErrorCode, TopupRequested, decode
from shared.topics import BALANCE_EVENTS, BALANCE_MOVES
from tests.builders import channel, client, partner

from .fakes import FakeUnitOfWork, Feed
from .test_service import payment, usage

NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


async def _world() -> tuple[FakeUnitOfWork, Feed]:
    uow, feed = FakeUnitOfWork(), Feed()
    await service.apply_directory(uow, feed.directory(
        partner("acmePA"), client("bobCL", "acmePA"), channel("acmeCH0001", "bobCL", "acmePA"),
        partner("globexPA", "direct_paid", "USD"), client("initechCL", "globexPA"),
        channel("globexCH0007", "initechCL", "globexPA")))
    return uow, feed


def _of(uow: FakeUnitOfWork, topic: str) -> list:
    return [decode(topic, r.value) for r in uow.store.outbox if r.topic == topic]


async def test_each_transaction_publishes_one_move_per_balance_with_a_growing_version():
    """Two debits and a payment on one balance in two transactions: two moves, versions 1 and 2, newest amount."""
    uow, feed = await _world()
    await service.apply_usage(uow, feed.usage(usage("m1"), usage("m2")), NOW)
    await service.apply_payments(uow, feed.payments(payment("p1")), NOW, 60)
    moves: list[BalanceMoved] = _of(uow, BALANCE_MOVES.name)
    assert [(m.balance.owner_id, m.version, str(m.amount)) for m in moves] == [
        ("acmePA", 1, "-0.2262"), ("acmePA", 2, "99.7738")]
    assert moves[1].move_id == "acmePA/2" and moves[1].updated_at == datetime(2026, 10, 18, 8, tzinfo=UTC)


def _request(request_id: str, owner: dict, amount: str = "50.00", currency: str = "EUR") -> dict:
    return {"type": "topup.request", "request_id": request_id, "balance": owner, "amount": amount,
            "currency": currency, "requested_by": "partner:acmePA", "requested_at": "2026-10-20T11:00:00Z"}


async def test_a_requested_top_up_is_announced_once_under_its_own_id():
    """The same request delivered twice: one topup.requested with the request's id and amount."""
    uow, feed = await _world()
    batch = feed.topups(_request("tr_a", {"partner_id": "acmePA"}))
    assert await service.request_topups(uow, batch, NOW) == []
    assert await service.request_topups(uow, batch, NOW) == []
    [event] = _of(uow, BALANCE_EVENTS.name)
    assert isinstance(event, TopupRequested)
    assert (event.request_id, str(event.amount), event.balance.owner_id) == ("tr_a", "50.00", "acmePA")
    assert uow.store.balances["acmePA"].topup_request_id == "tr_a"


async def test_a_top_up_request_for_no_balance_or_in_another_currency_is_refused():
    """Unknown balance → unknown_account; USD for a EUR balance → currency_mismatch; -5 → invalid_amount."""
    uow, feed = await _world()
    batch = feed.topups(_request("tr_x", {"partner_id": "nobodyPA"}),
                        _request("tr_y", {"channel_id": "globexCH0007"}),
                        _request("tr_z", {"partner_id": "acmePA"}, amount="-5.00"))
    refused = await service.request_topups(uow, batch, NOW)
    assert [r.code for r in refused] == [ErrorCode.UNKNOWN_ACCOUNT, ErrorCode.CURRENCY_MISMATCH,
                                         ErrorCode.INVALID_AMOUNT]
    assert _of(uow, BALANCE_EVENTS.name) == []
