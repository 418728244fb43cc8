"""PostgreSQL plumbing: each service owns one schema, migrated at start-up, reached by a pool.

Migrations are versioned SQL files applied by yoyo-migrations, which records
what it applied in the service's own schema and takes a lock, so two instances
starting at once migrate once. yoyo drives psycopg (synchronous); it runs in a
worker thread before the service consumes anything. At run time the services
use asyncpg.
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import asyncpg
import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from .settings import DatabaseSettings


def _yoyo_uri(db: DatabaseSettings, schema: str) -> str:
    # Quoted: a password with '@', '/' or ':' must not break the URI (yoyo unquotes it).
    password = quote(db.password.get_secret_value(), safe="")
    # A host that is a directory is the server's Unix socket (as for libpq and asyncpg); yoyo does not
    # unquote a host, but hands query arguments to psycopg as they are.
    host, socket = ("", f"&host={quote(db.host, safe='')}") if db.host.startswith("/") else (db.host, "")
    return (f"postgresql+psycopg://{quote(db.user, safe='')}:{password}@{host}:{db.port}/{db.name}"
            f"?schema={schema}{socket}")


def migrate(db: DatabaseSettings, schema: str, migrations: Path) -> list[str]:
    """Create `schema` if needed and apply its pending migrations; return the ids applied."""
    with psycopg.connect(host=db.host, port=db.port, dbname=db.name, user=db.user,
                         password=db.password.get_secret_value(), autocommit=True) as conn:
        # A service role that owns its schema (deploy/security/postgres-roles.sql) may not create
        # schemas, and PostgreSQL checks that right even for IF NOT EXISTS: look first.
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    backend = get_backend(_yoyo_uri(db, schema), migration_table="_yoyo_migration")
    try:
        with backend.lock():
            pending = backend.to_apply(read_migrations(str(migrations)))
            backend.apply_migrations(pending)
            return [m.id for m in pending]
    finally:
        backend.connection.close()


async def migrate_async(db: DatabaseSettings, schema: str, migrations: Path) -> list[str]:
    return await asyncio.to_thread(migrate, db, schema, migrations)


async def create_pool(db: DatabaseSettings, schema: str, application_name: str,
                      reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (and public) by default. `reset` replaces asyncpg's
    session reset on release (a round trip) for a service that keeps no session state."""
    pool = await asyncpg.create_pool(
        reset=reset,
        host=db.host, port=db.port, database=db.name, user=db.user,
        password=db.password.get_secret_value(),
        min_size=db.pool_min, max_size=db.pool_max,
        command_timeout=db.command_timeout_s,
        server_settings={"search_path": schema, "application_name": application_name},
    )
    assert pool is not None
    return pool


async def ping(pool: asyncpg.Pool, timeout_s: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            return await pool.fetchval("SELECT 1") == 1
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return False
