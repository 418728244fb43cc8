"""The fault suite's own stack: its broker and database are stopped and restarted by the tests, so they
are not the ones the other integration tests share. `pytest -m faults` runs the suite alone;
`-m "not faults"` leaves it out."""

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.register_assert_rewrite("tests.integration.faults.outcome", "tests.integration.faults.month")

from deploy.stack import kafka, postgres
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from deploy.stack.topics import ensure_topics
from shared.settings import DatabaseSettings

from ..conftest import database_of_its_own
from ..stack import Endpoints


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/faults" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@dataclass(frozen=True)
class FaultStack:
    settings: StackSettings
    endpoints: Endpoints

    def stop_kafka(self) -> None:
        kafka.stop(self.settings)

    def start_kafka(self) -> None:
        kafka.start(self.settings)

    def stop_postgres(self) -> None:
        postgres.stop(self.settings)

    def start_postgres(self) -> None:
        postgres.start(self.settings)


def fault_stack_settings() -> StackSettings:
    env = os.environ.get
    return StackSettings(
        dir=env("BILLING_FAULT_STACK_DIR", PROJECT_ROOT / ".stack" / "faults"),
        kafka_port=int(env("BILLING_FAULT_KAFKA_PORT", 19292)),
        kafka_controller_port=int(env("BILLING_FAULT_KAFKA_CONTROLLER_PORT", 19293)),
        pg_port=int(env("BILLING_FAULT_PG_PORT", 55440)),
        pg_archive=False,  # the restore cases have a server of their own (restore.py)
    )


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    s = fault_stack_settings()
    started_kafka, started_pg = not kafka.is_running(s), not postgres.is_running(s)
    try:
        kafka.start(s)
        postgres.start(s)
        asyncio.run(ensure_topics(s.kafka_bootstrap))
        yield FaultStack(s, Endpoints(s.kafka_bootstrap, DatabaseSettings(
            host="127.0.0.1", port=s.pg_port, name=s.pg_database, user=s.pg_user, password=s.pg_password)))
    finally:
        if started_kafka:
            kafka.stop(s)
        if started_pg:
            postgres.stop(s)


@pytest.fixture
async def faulty(fault_stack: FaultStack, unique: str):
    """A database of this case's own on the fault stack (closed months are global to a database)."""
    async with database_of_its_own(fault_stack.endpoints, f"f_{unique}") as endpoints:
        yield endpoints
