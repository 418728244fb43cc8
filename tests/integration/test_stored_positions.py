"""A service reads on from the positions its database stored: a database put back to an earlier copy replays
what it lacks, exactly once, and a position the log no longer holds stops the service from starting."""

import asyncio
import json
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg

from shared.db import migrate
from shared.positions import KafkaPositions
from shared.settings import KafkaSettings
from shared.topics import DIRECTORY, PAYMENTS
from tests.builders import partner

from .kafka_io import committed_offsets, publish
from .stack import Endpoints
from .test_balance import amounts, balance_service, db, ledger_mismatches, payment, until

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "balance" / "migrations"


@asynccontextmanager
async def copy_of(stack: Endpoints, name: str):
    """The database as it is now, copied (a backup taken now, restored later), dropped afterwards."""
    await _elsewhere(stack, f'CREATE DATABASE "{name}" TEMPLATE "{stack.db.name}"')
    try:
        yield Endpoints(stack.bootstrap, stack.db.model_copy(update={"name": name}))
    finally:
        await _elsewhere(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


async def _elsewhere(stack: Endpoints, statement: str) -> None:
    """Run `statement` from the server's `postgres` database (a template must have no session)."""
    conn = await asyncpg.connect(host=stack.db.host, port=stack.db.port, user=stack.db.user,
                                 password=stack.db.password.get_secret_value(), database="postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_database_put_back_to_an_earlier_copy_replays_the_payments_it_lacks_once(
        own_database, unique, tmp_path):
    """Balance took a payment, the database was copied, two more payments followed; restarted on the copy,
    balance reads on from the copy's positions (Kafka's committed offsets are past all three) and ends with
    the three payments, once each."""
    stack, group, owner = own_database, f"test-balance-{unique}", f"{unique}PA"
    account = {"partner_id": owner}
    await publish(stack.bootstrap, DIRECTORY.name, [(owner.encode(), json.dumps(partner(owner)).encode())])
    await publish(stack.bootstrap, PAYMENTS.name, [payment(f"{unique}-1", account, "10.00")])
    with balance_service(stack, group, tmp_path):
        await until(lambda: _equals(stack, owner, "10"))
    async with copy_of(stack, f"{stack.db.name}_copy") as restored:
        await publish(stack.bootstrap, PAYMENTS.name, [payment(f"{unique}-2", account, "20.00"),
                                                       payment(f"{unique}-3", account, "30.00")])
        with balance_service(stack, group, tmp_path):
            await until(lambda: _equals(stack, owner, "60"))
        assert await amounts(restored, [owner]) == {owner: Decimal("10")}, "the copy is from before"

        with balance_service(restored, group, tmp_path, name="restored"):
            await until(lambda: _equals(restored, owner, "60"))
            conn = await db(restored)
            try:
                entries = await conn.fetchval("SELECT count(*) FROM balance.ledger WHERE owner_id = $1", owner)
            finally:
                await conn.close()
        assert entries == 3 and await ledger_mismatches(restored) == []
        ends = await KafkaPositions(KafkaSettings(bootstrap_servers=stack.bootstrap), "t").end_offsets(PAYMENTS.name)
        committed = await committed_offsets(stack.bootstrap, group)
        assert {p: committed[(PAYMENTS.name, p)] for p in ends} == ends, "Kafka's offsets end where the replay did"


async def test_a_service_whose_stored_position_is_past_the_end_of_its_log_does_not_start(
        own_database, unique, tmp_path):
    """The topic was recreated under it (or lost records): reading from the stored position would skip the
    new records, so balance exits at start-up naming the topic, the partition and both offsets."""
    stack, group = own_database, f"test-balance-{unique}"
    await asyncio.to_thread(migrate, stack.db, "balance", MIGRATIONS)
    end = (await KafkaPositions(KafkaSettings(bootstrap_servers=stack.bootstrap), "t").end_offsets(PAYMENTS.name))[0]
    conn = await db(stack)
    try:
        await conn.execute("INSERT INTO balance.consumed_positions VALUES ($1, $2, 0, $3)", group, PAYMENTS.name,
                           end + 1000)
    finally:
        await conn.close()
    service = balance_service(stack, group, tmp_path)
    try:
        service.start(timeout_s=60)
        raise AssertionError("balance started although it would skip records")
    except RuntimeError as exc:
        assert f"{PAYMENTS.name} partition 0: the stored position {end + 1000} is after the log's end {end}" in str(exc)


async def _equals(stack, owner: str, value: str) -> bool:
    return (await amounts(stack, [owner])).get(owner) == Decimal(value)
