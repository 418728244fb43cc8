"""Settings come from the environment, one class per service, secrets hidden."""

from shared.settings import BalanceSettings, InvoicingSettings, UsageIngestSettings


def test_shared_kafka_and_database_variables_reach_every_service(monkeypatch):
    """BILLING_KAFKA_* and BILLING_DB_* are set once for all three services."""
    monkeypatch.setenv("BILLING_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("BILLING_DB_HOST", "db.internal")
    for cls in (UsageIngestSettings, BalanceSettings, InvoicingSettings):
        s = cls()
        assert s.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
        assert s.db.host == "db.internal"


def test_each_service_reads_its_own_prefix_and_has_its_own_port():
    """A service's own variables do not leak into another's settings."""
    import os

    os.environ["BILLING_BALANCE_HTTP_PORT"] = "9102"
    try:
        assert BalanceSettings().http_port == 9102
        assert UsageIngestSettings().http_port == 8081
        assert InvoicingSettings().http_port == 8083
    finally:
        del os.environ["BILLING_BALANCE_HTTP_PORT"]


def test_secrets_never_appear_in_repr_or_dumps(monkeypatch):
    """Passwords are SecretStr: masked in repr and in JSON dumps."""
    monkeypatch.setenv("BILLING_DB_PASSWORD", "hunter2-db")
    monkeypatch.setenv("BILLING_KAFKA_SASL_PASSWORD", "hunter2-kafka")
    s = UsageIngestSettings()
    shown = repr(s) + s.model_dump_json()
    for secret in ("hunter2-db", "hunter2-kafka"):
        assert secret not in shown
    assert s.db.password.get_secret_value() == "hunter2-db"
    assert "hunter2-db" in s.db.dsn()


def test_a_cluster_is_bootstrapped_from_each_of_its_brokers():
    """BILLING_KAFKA_BOOTSTRAP_SERVERS lists the brokers; FastStream would take the whole string for one host."""
    from shared.kafka import bootstrap_list, client_options
    from shared.settings import KafkaSettings

    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9092, 127.0.0.1:9094,127.0.0.1:9096")
    assert bootstrap_list(settings) == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    assert client_options(settings)["bootstrap_servers"] == bootstrap_list(settings)
