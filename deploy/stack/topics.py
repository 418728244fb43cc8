"""Creates every topic of shared.topics with its partition count and retention, idempotently (and, on a
secured broker, every service principal's ACLs).

Retention is decided by restores (docs/operations.md, "Retention"): a database
restored from the oldest base backup still kept replays every topic a service
reads from the positions that backup stored, so those records must still be
there. A topic read from its start by a new database (the directory, rate
cards, commands, payments, the ledger's topics) and the invoices (the record
of what accounting received; invoicing reads them back after a restore) are
kept for ever: they are small. The high-volume topics (statuses, priced
usage) and the outputs only others read keep the restore window: the base
backups kept times their interval, plus the time to notice and restore and the
longest consumer lag to ride out.
"""

import asyncio
from datetime import timedelta

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from shared.kafka import client_options
from shared.settings import KafkaSettings
from shared.topics import ALL_TOPICS, BALANCE_EVENTS, MESSAGE_STATUS, USAGE_PRICED, topic_configs, topic_partitions

from .process import StackError

# Seven nightly base backups kept, and seven days to notice a disaster, restore and catch up.
RESTORE_WINDOW = timedelta(days=14)
WINDOWED = {MESSAGE_STATUS.name, USAGE_PRICED.name, BALANCE_EVENTS.name}


def restore_window(backup_interval: timedelta, backups_kept: int, margin: timedelta) -> timedelta:
    """How long the windowed topics must keep their records so that the oldest kept backup can be restored."""
    return backup_interval * backups_kept + margin


def retention_ms(window: timedelta = RESTORE_WINDOW) -> dict[str, str]:
    """Topic → its `retention.ms`: the restore window, or -1 (for ever); dead letters keep the window."""
    out = {t.name: str(int(window.total_seconds() * 1000)) if t.name in WINDOWED else "-1" for t in ALL_TOPICS}
    out.update({t.dlq: str(int(window.total_seconds() * 1000)) for t in ALL_TOPICS if t.has_dlq})
    return out


async def ensure_topics(bootstrap: str | KafkaSettings, timeout_s: float = 60.0, acls: bool = False,
                        replication: int = 1, window: timedelta = RESTORE_WINDOW) -> list[str]:
    """Create the topics that are missing, with `replication` copies; return their names. Every topic's
    retention is set to what `retention_ms(window)` says (existing ones too); partitions are left as they are.

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
        wanted, retention = topic_partitions(), retention_ms(window)
        # alter_configs replaces a topic's whole configuration: every setting goes in each time.
        configs = {name: {**topic_configs().get(name, {}), "retention.ms": retention[name]} for name in wanted}
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, replication, topic_configs=configs[name])
                   for name, n in wanted.items() if name not in existing]
        if missing:
            await admin.create_topics(missing)
        await _await_metadata(admin, set(wanted), deadline)
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs[name])
                                   for name in sorted(existing & set(wanted))])
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
