import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager

import pytest

from services.invoicing.documents.seller import example_env

from .processes import STARTED
from .stack import Endpoints, real_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    with real_stack() as endpoints:
        yield endpoints


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Whatever a test ends with, the service processes it started do not outlive it."""
    yield
    while STARTED:
        STARTED.pop().kill()


@pytest.fixture
def unique() -> str:
    """A short id that keeps one test's records apart from every other test's."""
    return uuid.uuid4().hex[:10]


@asynccontextmanager
async def database_of_its_own(stack: Endpoints, name: str):
    """A fresh database on `stack`'s server, dropped afterwards (over a new connection: the test may
    have restarted the server)."""
    import asyncpg

    await _admin(stack, f'CREATE DATABASE "{name}"')
    yield Endpoints(stack.bootstrap, stack.db.model_copy(update={"name": name}))
    for _ in range(20):
        try:
            await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            # An autovacuum worker is busy in it, and PostgreSQL 15 lets only a superuser's FORCE end
            # one; a plain DROP asks autovacuum to leave (it fails while a service is still connected).
            try:
                await _admin(stack, f'DROP DATABASE "{name}"')
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.5)
    raise AssertionError(f"database {name} could not be dropped")


async def _admin(stack: Endpoints, statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(host=stack.db.host, port=stack.db.port, user=stack.db.user,
                                  password=stack.db.password.get_secret_value(), database=stack.db.name)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture
async def own_database(stack: Endpoints, unique: str):
    """A database of this test's own, for state that is global to a database (closed months)."""
    async with database_of_its_own(stack, f"t_{unique}") as endpoints:
        yield endpoints


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(stack: Endpoints, prefix: str, **extra: str) -> dict[str, str]:
    """Environment for a service process pointed at the test stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env.update({
        "BILLING_KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "BILLING_DB_HOST": stack.db.host,
        "BILLING_DB_PORT": str(stack.db.port),
        "BILLING_DB_NAME": stack.db.name,
        "BILLING_DB_USER": stack.db.user,
        "BILLING_DB_PASSWORD": stack.db.password.get_secret_value(),
        f"{prefix}LOG_JSON": "true",
        f"{prefix}HTTP_PORT": str(free_port()),
        **example_env(),  # the fictional seller on every test invoice's documents
    })
    env.update(extra)
    return env
