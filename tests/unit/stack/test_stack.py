"""The local stack explains what is wrong instead of failing obscurely."""

import os
import socket

import pytest

from deploy.stack import kafka, postgres
from deploy.stack.process import StackError, port_is_open
from deploy.stack.settings import StackSettings


@pytest.fixture(autouse=True)
def default_stack(monkeypatch):
    """The stack's defaults, whatever ports the shell running the tests moved its own stack to."""
    for name in [n for n in os.environ if n.startswith("BILLING_STACK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def settings(tmp_path, **kw) -> StackSettings:
    return StackSettings(dir=tmp_path / "stack", **kw)


def test_kafka_on_a_taken_port_is_refused_with_the_port_and_the_setting_to_change(tmp_path, taken_port):
    """The message names the port and the environment variable that moves it."""
    s = settings(tmp_path, kafka_port=taken_port)
    with pytest.raises(StackError, match=rf"Port {taken_port} is taken.*BILLING_STACK_KAFKA_PORT"):
        kafka.start(s)


def test_postgres_on_a_taken_port_is_refused_with_the_port_and_the_setting_to_change(tmp_path, taken_port):
    """The message names the port and the environment variable that moves it."""
    s = settings(tmp_path, pg_port=taken_port)
    with pytest.raises(StackError, match=rf"Port {taken_port} is taken.*BILLING_STACK_PG_PORT"):
        postgres.start(s)


def test_missing_java_is_named_with_how_to_install_it(tmp_path):
    """No java on the PATH: say so, and how to fix it."""
    s = settings(tmp_path, java="/nonexistent/java")
    with pytest.raises(StackError, match="Java was not found.*JDK 17"):
        kafka.check_java(s)


def test_the_broker_config_is_kraft_single_node_on_the_chosen_ports(tmp_path):
    """Both roles on one node, our ports, no topic auto-creation, replication factor one."""
    s = settings(tmp_path, kafka_port=29092, kafka_controller_port=29093)
    text = kafka._write_config(s).read_text()
    assert "process.roles=broker,controller" in text
    assert "listeners=PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093" in text
    assert "auto.create.topics.enable=false" in text
    assert "offsets.topic.replication.factor=1" in text
    assert f"log.dirs={s.dir / 'kafka' / 'data'}" in text


def test_a_cluster_id_is_22_url_safe_characters():
    """Kafka's storage tool wants 16 bytes in URL-safe base64 without padding."""
    cluster_id = kafka._cluster_id()
    assert len(cluster_id) == 22 and "=" not in cluster_id and "+" not in cluster_id


def test_a_closed_port_is_seen_as_closed(taken_port):
    """The port check that guards every start is right both ways."""
    assert port_is_open(taken_port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert not port_is_open(free)


def test_a_secured_broker_gets_scram_logins_tls_and_acls_and_a_plain_one_nothing(tmp_path):
    """SASL_SSL: SCRAM-SHA-512 for admin and each service principal at format time, the admin's
    login on the listener, the key store, the StandardAuthorizer; PLAINTEXT: none of it."""
    from deploy.stack import security

    plain = settings(tmp_path)
    assert security.broker_properties(plain) == "" and security.format_args(plain) == []
    assert security.client_env(plain, "balance") == {
        "BILLING_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "BILLING_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    s = settings(tmp_path, kafka_security="SASL_SSL")
    props = security.broker_properties(s)
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" in props
    assert f'username="admin" password="{security.password(s, "admin")}"' in props
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in props
    assert "allow.everyone.if.no.acl.found=false" in props and "ssl.keystore.location=" in props
    assert "super.users=User:admin\n" in props and "ANONYMOUS" not in props
    assert "sasl.mechanism.controller.protocol=PLAIN" in props
    assert security.controller_protocol(s) == "SASL_PLAINTEXT" and security.controller_protocol(plain) == "PLAINTEXT"
    scram = security.format_args(s)
    assert [a.split("[name=")[1].split(",")[0] for a in scram[1::2]] == [
        "admin", "usage-ingest", "balance", "invoicing", "portal", "reconciler"]
    env = security.client_env(s, "balance")
    assert env["BILLING_KAFKA_SASL_USERNAME"] == "balance"
    assert env["BILLING_KAFKA_SASL_PASSWORD"] == security.password(s, "balance") != security.password(s, "admin")
    assert (s.dir / "kafka" / "secrets" / "balance").stat().st_mode & 0o077 == 0, "owner only"


def test_three_nodes_form_a_static_quorum_with_three_copies_and_two_in_sync(tmp_path):
    """`--brokers 3`: node n on the base ports + 2(n-1), every node a voter, acks=all survives one loss."""
    s = settings(tmp_path, kafka_port=29092, kafka_controller_port=29093, kafka_brokers=3)
    assert [(n.n, n.port, n.controller_port) for n in kafka.nodes(s)] == [(1, 29092, 29093), (2, 29094, 29095),
                                                                            (3, 29096, 29097)]
    assert s.kafka_bootstrap == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    text = kafka._write_config(s, kafka.nodes(s)[1]).read_text()
    assert "node.id=2" in text and "listeners=PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095" in text
    assert "controller.quorum.voters=1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097" in text
    for line in ("default.replication.factor=3", "min.insync.replicas=2", "offsets.topic.replication.factor=3",
                 "unclean.leader.election.enable=false"):
        assert line in text
    assert f"log.dirs={s.dir / 'kafka-2' / 'data'}" in text


def test_a_stack_formatted_for_one_node_refuses_to_start_with_three(tmp_path):
    """The quorum is in the metadata: the message says how the stack was formatted and what to do."""
    one = settings(tmp_path)
    (one.dir / "kafka" / "data").mkdir(parents=True)
    (one.dir / "kafka" / "data" / "meta.properties").write_text("")
    assert kafka.formatted_brokers(one) == 1
    with pytest.raises(StackError, match="formatted for 1 broker.*--brokers 1"):
        kafka._check_layout(settings(tmp_path, kafka_brokers=3))


def test_topics_read_from_their_start_are_kept_for_ever_and_the_high_volume_ones_for_the_restore_window():
    """A database restored from the oldest kept backup replays from its stored positions: those records
    must still be there."""
    from datetime import timedelta

    from deploy.stack.topics import restore_window, retention_ms

    window = restore_window(timedelta(days=1), 7, timedelta(days=3))
    assert window == timedelta(days=10)
    retention = retention_ms(window)
    assert retention["wa.message-status.v1"] == retention["billing.internal.usage-priced.v1"] == str(864_000_000)
    assert {retention[t] for t in ("billing.directory.v1", "billing.ratecards.v1", "billing.payments.v1",
                                   "billing.commands.v1", "billing.invoices.v1",
                                   "billing.internal.ledger-closed.v1")} == {"-1"}
