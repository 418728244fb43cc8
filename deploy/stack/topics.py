"""Creates every topic of shared.topics with its partition count, idempotently (and, on a secured
broker, every service principal's ACLs)."""

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from shared.kafka import client_options
from shared.settings import KafkaSettings
from shared.topics import topic_configs, topic_partitions

from .process import StackError


async def ensure_topics(bootstrap: str | KafkaSettings, timeout_s: float = 60.0, acls: bool = False) -> list[str]:
    """Create the topics that are missing; return their names. Existing ones are left as they are.

    `bootstrap` is a PLAINTEXT address or how the admin logs in; with `acls`, every service
    principal's ACLs (deploy/security/kafka_acls.py) are created too."""
    settings = bootstrap if isinstance(bootstrap, KafkaSettings) else KafkaSettings(bootstrap_servers=bootstrap)
    bootstrap = settings.bootstrap_servers
    admin = AIOKafkaAdminClient(request_timeout_ms=15000, **client_options(settings))
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await admin.start()
            break
        except KafkaError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise StackError(f"Kafka at {bootstrap} does not answer: {exc}") from exc
            await asyncio.sleep(0.5)
    try:
        wanted = topic_partitions()
        existing = set(await admin.list_topics())
        configs = topic_configs()
        missing = [NewTopic(name, n, 1, topic_configs=configs.get(name, {}))
                   for name, n in wanted.items() if name not in existing]
        if missing:
            await admin.create_topics(missing)
        await _await_metadata(admin, set(wanted), deadline)
        if acls:
            from deploy.security.kafka_acls import all_acls, apply

            await apply(admin, all_acls())
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _await_metadata(admin: AIOKafkaAdminClient, names: set[str], deadline: float) -> None:
    """Topic creation is asynchronous in KRaft: wait until every partition has a leader."""
    while True:
        described = await admin.describe_topics(list(names))
        ready = all(t["error_code"] == 0 and t["partitions"]
                    and all(p["leader"] >= 0 for p in t["partitions"]) for t in described)
        if ready:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise StackError("Kafka created the topics but not every partition has a leader yet.")
        await asyncio.sleep(0.3)
