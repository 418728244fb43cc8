"""The local stack explains what is wrong instead of failing obscurely."""

import socket

import pytest

from deploy.stack import kafka, postgres
from deploy.stack.process import StackError, port_is_open
from deploy.stack.settings import StackSettings


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
