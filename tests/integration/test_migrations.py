"""Each service's schema is created and migrated at start-up, once, however often it starts."""

from pathlib import Path

import asyncpg
import pytest

from shared.db import create_pool, migrate

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.mark.parametrize("service", ["usage_ingest", "balance", "invoicing", "portal"])
async def test_migrations_apply_once_into_the_services_own_schema(stack, unique, service):
    """A second run applies nothing; the tables live in the service's schema, seen through its pool."""
    schema = f"t_{service}_{unique}"
    first = migrate(stack.db, schema, SERVICES / service / "migrations")
    second = migrate(stack.db, schema, SERVICES / service / "migrations")
    assert first and "0001_outbox" in first
    assert second == []
    pool = await create_pool(stack.db, schema, "test")
    try:
        assert await pool.fetchval("SELECT current_schema()") == schema
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
        with pytest.raises(asyncpg.NotNullViolationError):
            await pool.execute("INSERT INTO outbox (topic, value) VALUES ('t', NULL)")
    finally:
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await pool.close()



async def test_a_role_without_create_on_the_database_migrates_the_schema_made_for_it(own_database, unique):
    """As deployed (deploy/compose/postgres-init.sh): an administrator makes the schema for the service's
    role, which may not create schemas, and the service still migrates it at start-up."""
    db = own_database.db
    conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value())
    try:
        await conn.execute(f'CREATE SCHEMA "balance_{unique}"')
        await conn.execute(f'REVOKE CREATE ON DATABASE "{db.name}" FROM PUBLIC, "{db.user}"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "balance_{unique}"')
    finally:
        await conn.close()
    assert "0001_outbox" in migrate(db, f"balance_{unique}", SERVICES / "balance" / "migrations")
    assert migrate(db, f"balance_{unique}", SERVICES / "balance" / "migrations") == []
