"""The fault suite's own stack: its broker and database are stopped and restarted by the tests, so they
are not the ones the other integration tests share. `pytest -m faults` runs the suite alone;
`-m "not faults"` leaves it out."""

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.register_assert_rewrite("tests.integration.faults.outcome", "tests.integration.faults.month")

from deploy.stack import kafka, postgres
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from deploy.stack.topics import ensure_topics

from ..conftest import database_of_its_own
from ..stack import Endpoints, start_local


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
        yield FaultStack(s, start_local(s))
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


@dataclass(frozen=True)
class RestoreStack:
    """A PostgreSQL server of its own, archiving its WAL, and a broker of its own: the restore cases destroy the
    server and bring it back from its backups. On the fault stack's broker a fresh database would replay every
    month the suite's earlier cases closed there, with their invoices' documents (minutes, before a case
    begins); on its own broker it replays only the restore cases' months."""

    settings: StackSettings
    endpoints: Endpoints


def restore_stack_settings() -> StackSettings:
    env = os.environ.get
    return StackSettings(dir=env("BILLING_FAULT_RESTORE_STACK_DIR", PROJECT_ROOT / ".stack" / "faults-restore"),
                         kafka_port=int(env("BILLING_FAULT_RESTORE_KAFKA_PORT", 19296)),
                         kafka_controller_port=int(env("BILLING_FAULT_RESTORE_KAFKA_CONTROLLER_PORT", 19297)),
                         pg_port=int(env("BILLING_FAULT_RESTORE_PG_PORT", 55450)), pg_archive_timeout_s=5)


@pytest.fixture(scope="session")
def restore_stack() -> Iterator[RestoreStack]:
    s = restore_stack_settings()
    kafka.stop(s)
    postgres.stop(s)
    # A fresh server and broker: no backup, no archive, no record from before.
    for folder in {s.dir, postgres.data_dir(s).parent}:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        yield RestoreStack(s, start_local(s))
    finally:
        postgres.stop(s)
        kafka.stop(s)


@pytest.fixture
async def restorable(restore_stack: RestoreStack, unique: str):
    """A database of this case's own on the server the restore cases destroy."""
    async with database_of_its_own(restore_stack.endpoints, f"r_{unique}") as endpoints:
        yield endpoints


def cluster_settings() -> StackSettings:
    """Three KRaft nodes of their own (node n on the base ports + 2(n-1)); databases on the fault stack."""
    env = os.environ.get
    return StackSettings(dir=env("BILLING_FAULT_CLUSTER_STACK_DIR", PROJECT_ROOT / ".stack" / "faults-cluster"),
                         kafka_port=int(env("BILLING_FAULT_CLUSTER_KAFKA_PORT", 19400)),
                         kafka_controller_port=int(env("BILLING_FAULT_CLUSTER_KAFKA_CONTROLLER_PORT", 19401)),
                         kafka_brokers=3, kafka_heap="512m", pg_archive=False)


@dataclass(frozen=True)
class Cluster:
    settings: StackSettings
    bootstrap: str

    def kill(self, node: int) -> None:
        kafka.kill_node(self.settings, node)

    def stop(self, node: int) -> None:
        kafka.stop_node(self.settings, node)

    def start(self, node: int) -> None:
        kafka.start_node(self.settings, node)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    s = cluster_settings()
    try:
        kafka.start(s)
        asyncio.run(ensure_topics(s.kafka_bootstrap, replication=3))
        yield Cluster(s, s.kafka_bootstrap)
    finally:
        kafka.stop(s)


@pytest.fixture
async def on_cluster(cluster: Cluster, fault_stack: FaultStack, unique: str):
    """A database of this case's own on the fault stack, and the three-node cluster, every node up."""
    for node in kafka.nodes(cluster.settings):
        await asyncio.to_thread(cluster.start, node.n)
    async with database_of_its_own(Endpoints(cluster.bootstrap, fault_stack.endpoints.db), f"c_{unique}") as endpoints:
        yield endpoints
