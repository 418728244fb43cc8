"""The Kafka ACLs of each service principal cover what its code does, and no more."""

from datetime import UTC, datetime

from deploy.security.kafka_acls import SERVICES, Acl, all_acls, service_acls, stale
from services.asyncapi import FACTORIES, document
from shared.settings import InvoicingSettings
from shared.topics import ALL_TOPICS, INPUT_TOPICS, topic_partitions


def _grants(service: str) -> set[tuple[str, str, str]]:
    return {(a.resource_type, a.name, a.operation) for a in service_acls(service)}


def test_the_committed_acl_list_and_script_match_the_code():
    """Run `python -m deploy.security.kafka_acls` after changing a subscriber, publisher or topic."""
    assert stale() == []


def test_every_channel_of_each_services_asyncapi_document_is_granted():
    """Read from the AsyncAPI document (a second view of the same code): every consumed topic has
    READ, every published topic WRITE, and the group READ."""
    for service in SERVICES:
        channels = document(FACTORIES[service])["channels"]
        grants = _grants(service)
        for channel in channels:
            topic, action = channel.rsplit(":", 1)
            assert ("TOPIC", topic, "READ" if action == "consume" else "WRITE") in grants, (service, channel)
        assert ("GROUP", SERVICES[service]().group_id, "READ") in grants  # type: ignore[attr-defined]


def test_grants_name_only_real_topics_and_each_internal_topic_has_one_writer():
    """No grant on a topic the stack does not create; an internal topic or output is written by
    exactly one principal, and no principal writes an external input (other systems do)."""
    topics = set(topic_partitions())
    acls = all_acls()
    assert {a.name for a in acls if a.resource_type == "TOPIC"} <= topics
    writers: dict[str, set[str]] = {}
    for a in acls:
        if a.operation == "WRITE":
            writers.setdefault(a.name, set()).add(a.principal)
    assert all(len(w) == 1 for w in writers.values()), writers
    assert not {t.name for t in INPUT_TOPICS} & set(writers)
    assert {t.name for t in ALL_TOPICS if t not in INPUT_TOPICS} <= set(writers)


async def test_invoicing_may_describe_every_offset_its_month_close_barrier_reads():
    """Run a close through the barrier with a recording Offsets: every topic whose end it lists and
    every (group, topic) whose commits it reads is granted (READ or WRITE imply DESCRIBE), following
    the configured group names."""
    from services.invoicing import credits, service
    from tests.unit.invoicing.fakes import Feed, FakeOffsets, FakeUnitOfWork

    settings, uow, offsets = InvoicingSettings(), FakeUnitOfWork(), FakeOffsets()
    groups = (settings.ingest_group_id, settings.balance_group_id)
    for topic in topic_partitions():
        offsets.set_end(topic, {0: 1})
        for group in groups:
            offsets.commit(group, topic, {0: 1})
    body = {"type": "month.close", "command_id": "close-2026-10", "month": "2026-10"}
    await credits.apply_commands(uow, offsets, Feed().commands(body), datetime(2026, 11, 1, tzinfo=UTC), 0)
    await service.advance_closes(uow, offsets, *groups, datetime(2026, 11, 2, tzinfo=UTC))
    assert uow.store.closes_rows["2026-10"].state == "ledger", "the barrier was passed"
    grants = _grants("invoicing")
    described = {(t, n) for t, n, _ in grants}
    read = {("TOPIC", call[-1]) for call in offsets.calls} | {("GROUP", c[1]) for c in offsets.calls
                                                              if c[0] == "committed"}
    assert read - described == set()
    assert {("GROUP", "billing-usage-ingest", "DESCRIBE"), ("GROUP", "billing-balance", "DESCRIBE")} <= grants
    custom = InvoicingSettings(group_id="inv-2", ingest_group_id="ing-2", balance_group_id="bal-2")
    names = {(a.resource_type, a.name) for a in service_acls("invoicing", custom)}
    assert {("GROUP", "inv-2"), ("GROUP", "ing-2"), ("GROUP", "bal-2")} <= names


def test_no_service_reads_another_services_input_or_gets_cluster_rights():
    """Balance cannot read statuses, usage ingest cannot read payments; no CLUSTER or wildcard grant."""
    assert not {g for g in _grants("balance") if g[1] == "wa.message-status.v1"}
    assert not {g for g in _grants("usage-ingest") if g[1] == "billing.payments.v1"}
    assert all(isinstance(a, Acl) and a.resource_type in ("TOPIC", "GROUP") and "*" not in a.name
               for a in all_acls())
