"""The real servers the integration tests run against.

With a Docker engine, testcontainers starts Kafka and PostgreSQL containers.
Without one (this project's CI machines), the project's own local stack is
started in a test folder on its own ports, so a system started by
`deploy/up.sh` is left alone. `BILLING_TEST_STACK=local|testcontainers`
forces the choice.
"""

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from deploy.stack import kafka, postgres
from deploy.stack.settings import PROJECT_ROOT, StackSettings
from deploy.stack.topics import ensure_topics
from shared.settings import DatabaseSettings


@dataclass(frozen=True)
class Endpoints:
    bootstrap: str
    db: DatabaseSettings


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def test_stack_settings() -> StackSettings:
    return StackSettings(
        dir=os.environ.get("BILLING_TEST_STACK_DIR", PROJECT_ROOT / ".stack" / "test"),
        kafka_port=int(os.environ.get("BILLING_TEST_KAFKA_PORT", 19092)),
        kafka_controller_port=int(os.environ.get("BILLING_TEST_KAFKA_CONTROLLER_PORT", 19093)),
        pg_port=int(os.environ.get("BILLING_TEST_PG_PORT", 55433)),
        pg_archive=False,  # a test stack is never restored: no WAL archive to fill its disk
    )


def start_local(s: StackSettings) -> Endpoints:
    """The broker and the server of `s` started (where not running) with every topic; their endpoints."""
    kafka.start(s)
    postgres.start(s)
    asyncio.run(ensure_topics(s.kafka_bootstrap))
    return Endpoints(s.kafka_bootstrap, DatabaseSettings(
        host="127.0.0.1", port=s.pg_port, name=s.pg_database, user=s.pg_user, password=s.pg_password))


@contextmanager
def local_stack() -> Iterator[Endpoints]:
    s = test_stack_settings()
    started_kafka = not kafka.is_running(s)
    started_pg = not postgres.is_running(s)
    try:
        yield start_local(s)
    finally:
        if started_kafka:
            kafka.stop(s)
        if started_pg:
            postgres.stop(s)


@contextmanager
def containers() -> Iterator[Endpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft() as broker, \
            PostgresContainer("postgres:16", username="billing", password="billing",
                              dbname="billing") as pg:
        bootstrap = broker.get_bootstrap_server()
        asyncio.run(ensure_topics(bootstrap))
        yield Endpoints(bootstrap, DatabaseSettings(
            host=pg.get_container_host_ip(), port=int(pg.get_exposed_port(5432)),
            name="billing", user="billing", password="billing"))


@contextmanager
def real_stack() -> Iterator[Endpoints]:
    choice = os.environ.get("BILLING_TEST_STACK", "auto")
    use_containers = choice == "testcontainers" or (choice == "auto" and docker_available())
    with (containers() if use_containers else local_stack()) as endpoints:
        yield endpoints
