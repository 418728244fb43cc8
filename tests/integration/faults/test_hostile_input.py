"""A flood of malformed and hostile records mixed into a real month: each lands in its topic's DLQ with
its code (a copy, if any, is the same letter); every good record is processed as if the bad ones were not
there."""

import asyncio
import json

from shared.contracts import DeadLetter, ErrorCode
from shared.topics import COMMANDS, DIRECTORY, MESSAGE_STATUS, PAYMENTS, RATECARDS
from tests.builders import channel, partner

from ..kafka_io import collect, publish
from .month import FaultMonth, flow, month_under_way, request_close
from .outcome import assert_exact_outcome

COPIES = 6  # of each kind of bad record: a flood, not a sample
Bad = tuple[str, bytes, bytes, ErrorCode]  # topic, key, value, the code it must be refused with


def bad_records(fm: FaultMonth, n: int) -> list[Bad]:
    u, M, A, D, P, Q = fm.unique, fm.month, fm.id("A"), fm.id("D"), fm.id("P"), fm.id("Q")

    def st(**change) -> bytes:
        body = json.loads(fm.statuses[0][1])
        body["status"] |= {"id": f"wamid.{u}.bad{n}"} | change
        return json.dumps(body).encode()

    def pay(owner: dict, **change) -> bytes:
        body = {"type": "payment.succeeded", "payment_id": f"{u}-bad{n}", "account": owner, "amount": "10.00",
                "currency": "EUR", "method": "card", "paid_at": f"{M}-03T08:00:00Z"} | change
        return json.dumps(body).encode()

    s, p, d = MESSAGE_STATUS.name, PAYMENTS.name, DIRECTORY.name
    nested = b'{"a": ' * 5_000 + b"1" + b"}" * 5_000
    return [
        (s, A.encode(), b"{not json", ErrorCode.MALFORMED_JSON),
        (s, A.encode(), b"\xff\xfe\x00garbage", ErrorCode.MALFORMED_JSON),
        (s, A.encode(), b"[1, 2, 3]", ErrorCode.MALFORMED_JSON),
        (s, A.encode(), nested, ErrorCode.MALFORMED_JSON),
        (s, A.encode(), st(timestamp={"when": "now"}), ErrorCode.SCHEMA_INVALID),
        (s, A.encode(), st(timestamp="9" * 40), ErrorCode.SCHEMA_INVALID),
        (s, A.encode(), st(status="bounced"), ErrorCode.SCHEMA_INVALID),
        (s, A.encode(), st(pricing={"billable": "maybe", "category": "marketing"}), ErrorCode.SCHEMA_INVALID),
        (s, A.encode(), st(padding="x" * 70_000), ErrorCode.TOO_LARGE),
        (p, P.encode(), pay({"partner_id": P}, amount="-5.00"), ErrorCode.INVALID_AMOUNT),
        (p, P.encode(), pay({"partner_id": P}, amount="0"), ErrorCode.INVALID_AMOUNT),
        (p, P.encode(), pay({"partner_id": P}, amount="99999999999999999999.00"), ErrorCode.INVALID_AMOUNT),
        (p, P.encode(), pay({"partner_id": P}, currency="USD"), ErrorCode.CURRENCY_MISMATCH),
        (p, A.encode(), pay({"channel_id": A}), ErrorCode.UNKNOWN_ACCOUNT),
        (p, D.encode(), json.dumps({"type": "refund.succeeded", "refund_id": f"{u}-bad{n}", "account": {
            "channel_id": D}, "amount": "1000.00", "currency": "USD", "refunded_at": f"{M}-03T09:00:00Z"}).encode(),
         ErrorCode.REFUND_EXCEEDS_BALANCE),
        (p, P.encode(), pay({"partner_id": P}, type="payment.pending"), ErrorCode.SCHEMA_INVALID),
        (p, P.encode(), pay({"partner_id": P, "channel_id": A}), ErrorCode.SCHEMA_INVALID),
        (d, P.encode(), json.dumps(partner(P, "direct_paid", "EUR")).encode(), ErrorCode.BILLING_MODEL_CHANGE),
        (d, Q.encode(), json.dumps(partner(Q, "direct_paid", "EUR")).encode(), ErrorCode.CURRENCY_MISMATCH),
        (d, P.encode(), json.dumps(channel(f"{u}X{n}", fm.id("C1"), P) | {"license": "gold"}).encode(),
         ErrorCode.SCHEMA_INVALID),
        (RATECARDS.name, f"{u}card".encode(), b'{"ratecard_id": ', ErrorCode.MALFORMED_JSON),
        (COMMANDS.name, f"{u}cmd".encode(), json.dumps({"type": "month.close", "command_id": f"{u}-{n}",
                                                        "month": "2031-13"}).encode(), ErrorCode.SCHEMA_INVALID),
        (COMMANDS.name, f"{u}cmd".encode(), json.dumps({"type": "month.reopen", "command_id": f"{u}-{n}",
                                                        "month": M}).encode(), ErrorCode.SCHEMA_INVALID),
    ]


async def test_a_flood_of_bad_records_in_a_real_month_is_dead_lettered_and_the_month_is_exact(
        faulty, unique, tmp_path):
    stack = faulty
    fm, services = await month_under_way(stack, unique, tmp_path)
    flood = [b for n in range(COPIES) for b in bad_records(fm, n)]
    expected: dict[tuple[str, int, int], ErrorCode] = {}

    async def hostile() -> None:
        for i in range(0, len(flood), 23):
            for topic, key, value, code in flood[i:i + 23]:
                [where] = await publish(stack.bootstrap, topic, [(key, value)])
                expected[(topic, where.partition, where.offset)] = code
            await asyncio.sleep(0.2)

    await asyncio.gather(hostile(), flow(stack, fm, chunks=6, pause_s=0.3))
    await request_close(stack, fm)

    await assert_exact_outcome(stack, fm)
    letters = await _dead_letters(stack, expected, unique)
    assert {_source(d): d.error.code for d in letters} == expected
    # Dead letters are written before the offsets are committed: a batch read again (a rebalance took its
    # partition first) writes its letters again. A copy is the same letter, under the same source position.
    copies: dict[tuple[str, int, int], set[tuple[str, str, str]]] = {}
    for d in letters:
        copies.setdefault(_source(d), set()).add((d.error.code, d.error.message, d.payload))
    assert all(len(versions) == 1 for versions in copies.values()), "a copy of a dead letter is the same letter"
    assert [s.terminate() for s in services] == [0, 0, 0]


async def _dead_letters(stack, expected: dict[tuple[str, int, int], ErrorCode], unique: str) -> list[DeadLetter]:
    """The dead letters of this test's records, read until as many as expected are in."""
    found: list[DeadLetter] = []
    for topic in sorted({topic for topic, _, _ in expected}):
        count = sum(1 for t, _, _ in expected if t == topic)
        records = await collect(stack.bootstrap, f"{topic}.dlq", lambda r: unique in (r.key or b"").decode(),
                                count, timeout_s=30,
                                identity=lambda r: _source(DeadLetter.model_validate_json(r.value)))
        found += [DeadLetter.model_validate_json(r.value) for r in records]
    return found


def _source(letter: DeadLetter) -> tuple[str, int, int]:
    return letter.source.topic, letter.source.partition, letter.source.offset
