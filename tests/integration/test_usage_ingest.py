"""Usage ingest on the real broker and database: statuses in, each charge priced exactly once."""

import asyncio
import json
from decimal import Decimal

import asyncpg

from shared.contracts import DeadLetter, ErrorCode, PricedUsage
from shared.topics import DIRECTORY, MESSAGE_STATUS, RATECARDS, USAGE_PRICED
from tests.builders import channel, partner, pricing, status

from .conftest import service_env
from .kafka_io import collect, publish
from .processes import ServiceProcess
from .usage_scenario import Scenario, burst

PREFIX = "BILLING_USAGE_INGEST_"


def usage_ingest(stack, group: str, tmp_path, name: str = "ingest", **env: str) -> ServiceProcess:
    settings = {f"{PREFIX}GROUP_ID": group, f"{PREFIX}BATCH_MAX_RECORDS": "200",
                **{f"{PREFIX}{k.upper()}": v for k, v in env.items()}}
    return ServiceProcess("services.usage_ingest", service_env(stack, PREFIX, **settings),
                          f"{PREFIX}HTTP_PORT", tmp_path / f"{name}.log")


async def publish_scenario(stack, s: Scenario, statuses: bool = True) -> None:
    await publish(stack.bootstrap, RATECARDS.name, s.ratecards)
    await publish(stack.bootstrap, DIRECTORY.name, s.directory)
    if statuses:
        await publish(stack.bootstrap, MESSAGE_STATUS.name, s.statuses)


async def priced_usage(stack, ids: set[str], timeout_s: float = 60.0) -> list[PricedUsage]:
    records = await collect(stack.bootstrap, USAGE_PRICED.name,
                            lambda r: json.loads(r.value)["usage_id"] in ids, count=len(ids),
                            timeout_s=timeout_s, identity=lambda r: json.loads(r.value)["usage_id"])
    return [PricedUsage.model_validate_json(r.value) for r in records]


def assert_exactly(usage: list[PricedUsage], s: Scenario) -> None:
    """Every expected charge, with its balance, amount and month, and nothing else; copies identical."""
    by_id: dict[str, PricedUsage] = {}
    for u in usage:
        assert by_id.setdefault(u.usage_id, u) == u, f"two different charges for {u.usage_id}"
    got = {i: (u.balance.owner_id, u.amount, u.usage_month) for i, u in by_id.items()}
    assert got == s.expected


async def charged_in_db(stack, ids: set[str]) -> int:
    conn = await asyncpg.connect(host=stack.db.host, port=stack.db.port, user=stack.db.user,
                                 password=stack.db.password.get_secret_value(), database=stack.db.name)
    try:
        return await conn.fetchval("SELECT count(*) FROM usage_ingest.messages "
                                   "WHERE message_id = ANY($1::text[]) AND outcome = 'charged'", list(ids))
    finally:
        await conn.close()


async def test_a_shuffled_burst_with_duplicates_yields_each_expected_charge_exactly_once(stack, unique, tmp_path):
    """Every rule of §4.1 at once: only delivered, priced, billable messages, once each, right balance."""
    s = burst(unique)
    with usage_ingest(stack, f"test-{unique}", tmp_path):
        await publish_scenario(stack, s)
        usage = await priced_usage(stack, set(s.expected) | {f"wamid.{unique}.x"}, timeout_s=30)
    assert len(usage) == len(s.expected), "no copy, nothing uncharged"
    assert_exactly(usage, s)
    sample = next(u for u in usage if u.balance.channel_id)
    assert sample.billing_model == "direct_paid" and sample.currency == "USD"
    assert sample.country == "DE" and sample.market == "Germany" and sample.ratecard_id == "test-2026-10-USD"


async def test_a_service_killed_mid_batch_and_restarted_charges_the_same_messages_the_same(
        stack, unique, tmp_path):
    """SIGKILL while batches are in flight: after a restart, every charge once in the database, and the
    priced usage (possibly published again) is the same."""
    s = burst(unique, messages_per_kind=150)
    group = f"test-{unique}"
    await publish_scenario(stack, s, statuses=False)
    first = usage_ingest(stack, group, tmp_path, "first").start()
    await publish(stack.bootstrap, MESSAGE_STATUS.name, s.statuses)
    await _until_some_charged(stack, set(s.expected))
    first.proc.kill()
    first.proc.wait()
    with usage_ingest(stack, group, tmp_path, "second"):
        usage = await priced_usage(stack, set(s.expected))
        assert await charged_in_db(stack, set(s.expected)) == len(s.expected)
    assert_exactly(usage, s)


async def _until_some_charged(stack, ids: set[str]) -> None:
    for _ in range(200):
        if await charged_in_db(stack, ids) > 0:
            return
        await asyncio.sleep(0.05)


async def test_two_instances_in_one_group_charge_each_message_once(stack, unique, tmp_path):
    """Partitions shared between two instances (and rebalanced as the second joins): same result."""
    s = burst(unique, messages_per_kind=60)
    group = f"test-{unique}"
    await publish_scenario(stack, s, statuses=False)
    with usage_ingest(stack, group, tmp_path, "one"), usage_ingest(stack, group, tmp_path, "two"):
        await publish(stack.bootstrap, MESSAGE_STATUS.name, s.statuses)
        usage = await priced_usage(stack, set(s.expected))
        assert await charged_in_db(stack, set(s.expected)) == len(s.expected)
    assert len(usage) == len(s.expected)
    assert_exactly(usage, s)


async def test_a_status_of_an_unknown_channel_is_held_and_charged_once_the_channel_is_added(
        stack, unique, tmp_path):
    """The channel appears after its usage: the held message is charged then, not dropped."""
    s = burst(unique, messages_per_kind=1)
    pp = f"{unique}ppPA"
    late = f"{unique}lateCH"
    m = f"wamid.{unique}.late"
    with usage_ingest(stack, f"test-{unique}", tmp_path, sweep_interval_s="0.5"):
        await publish_scenario(stack, s, statuses=False)
        await publish(stack.bootstrap, MESSAGE_STATUS.name, [(late.encode(), json.dumps(
            status(m, late, "delivered", "2026-10-05T12:00:00Z", price=pricing())).encode())])
        await asyncio.sleep(2)
        assert await charged_in_db(stack, {m}) == 0
        await publish(stack.bootstrap, DIRECTORY.name, [
            (pp.encode(), json.dumps(channel(late, f"{unique}ppCL", pp)).encode())])
        [usage] = await priced_usage(stack, {m})
    assert (usage.balance.partner_id, usage.amount, usage.usage_month) == (pp, Decimal("0.1131"), "2026-10")


async def test_business_refusals_reach_the_dlq_with_their_codes(stack, unique, tmp_path):
    """no_rate, unknown_channel after the hold time, billing_model_change and currency_mismatch."""
    s = burst(unique, messages_per_kind=1)
    pp = f"{unique}ppPA"
    ch = f"{unique}ppCH1"
    ghost = f"{unique}ghostCH"
    no_rate = status(f"wamid.{unique}.norate", ch, "delivered", "2026-10-05T12:00:00Z",
                     price=pricing("referral_conversion"))
    unknown = status(f"wamid.{unique}.ghost", ghost, "delivered", "2026-10-05T12:00:00Z", price=pricing())
    with usage_ingest(stack, f"test-{unique}", tmp_path, hold_s="2", sweep_interval_s="0.5"):
        await publish_scenario(stack, s, statuses=False)
        await publish(stack.bootstrap, DIRECTORY.name, [
            (pp.encode(), json.dumps(partner(pp, "direct_paid", "EUR")).encode()),
            (pp.encode(), json.dumps(partner(pp, "partner_paid", "USD")).encode())])
        # Its dead letters show the directory is in: the channel of the no-rate message is known.
        directory_letters = await collect(stack.bootstrap, DIRECTORY.dlq, lambda r: r.key == pp.encode(),
                                          count=2)
        await publish(stack.bootstrap, MESSAGE_STATUS.name, [
            (ch.encode(), json.dumps(no_rate).encode()), (ghost.encode(), json.dumps(unknown).encode())])
        status_letters = await collect(stack.bootstrap, MESSAGE_STATUS.dlq,
                                       lambda r: r.key in (ch.encode(), ghost.encode()), count=2)
    codes = {(d.source.key, d.error.code) for d in map(_letter, status_letters + directory_letters)}
    assert codes == {(ch, ErrorCode.NO_RATE), (ghost, ErrorCode.UNKNOWN_CHANNEL),
                     (pp, ErrorCode.BILLING_MODEL_CHANGE), (pp, ErrorCode.CURRENCY_MISMATCH)}
    ghost_letter = next(_letter(r) for r in status_letters if r.key == ghost.encode())
    assert json.loads(ghost_letter.payload) == unknown, "the held record's original payload, from Kafka"


def _letter(record) -> DeadLetter:
    return DeadLetter.model_validate_json(record.value)
