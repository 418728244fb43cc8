"""Secrets come from the environment or from files, and never show in a repr, a dump or a log."""

import json
import logging
import traceback

import pytest
import structlog

from shared.db import _yoyo_uri, migrate
from shared.kafka import security_from
from shared.logging import configure_logging, get_logger
from shared.settings import BalanceSettings, DatabaseSettings, UsageIngestSettings


def test_secrets_are_read_from_files_named_like_their_variables(tmp_path, monkeypatch):
    """/run/secrets/BILLING_DB_PASSWORD (or BILLING_SECRETS_DIR) holds the password; a trailing
    newline is not part of it."""
    (tmp_path / "BILLING_DB_PASSWORD").write_text("db-from-file\n")
    (tmp_path / "BILLING_KAFKA_SASL_PASSWORD").write_text("kafka-from-file")
    monkeypatch.setenv("BILLING_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("BILLING_DB_PASSWORD", raising=False)
    s = BalanceSettings()
    assert s.db.password.get_secret_value() == "db-from-file"
    assert s.kafka.sasl_password is not None and s.kafka.sasl_password.get_secret_value() == "kafka-from-file"


def test_the_environment_wins_over_a_file_and_a_missing_folder_is_ignored(tmp_path, monkeypatch):
    """An explicit variable overrides the file; no secrets folder at all is not an error."""
    (tmp_path / "BILLING_DB_PASSWORD").write_text("from-file")
    monkeypatch.setenv("BILLING_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("BILLING_DB_PASSWORD", "from-env")
    assert DatabaseSettings().password.get_secret_value() == "from-env"
    monkeypatch.setenv("BILLING_SECRETS_DIR", str(tmp_path / "absent"))
    assert DatabaseSettings().password.get_secret_value() == "from-env"


def test_no_secret_in_repr_str_dump_or_the_kafka_security_object(monkeypatch):
    """Settings, their JSON dump and FastStream's security object show no password."""
    monkeypatch.setenv("BILLING_DB_PASSWORD", "hunter2-db")
    monkeypatch.setenv("BILLING_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("BILLING_KAFKA_SASL_USERNAME", "usage-ingest")
    monkeypatch.setenv("BILLING_KAFKA_SASL_PASSWORD", "hunter2-kafka")
    s = UsageIngestSettings()
    shown = repr(s) + str(s) + s.model_dump_json() + repr(s.model_dump()) + repr(security_from(s.kafka))
    assert "hunter2" not in shown


def test_a_settings_object_or_a_password_passed_to_a_logger_is_masked(capsys):
    """Logging settings, or binding a password or a DSN, renders no secret."""
    structlog.reset_defaults()
    import shared.logging as module

    module._configured = False
    configure_logging("INFO", json=True)
    db = DatabaseSettings(password="hunter2-db")
    get_logger("t").info("starting", settings=db, password="hunter2-x", dsn=db.dsn(), sasl_password="hunter2-y")
    logging.getLogger("asyncpg").warning("settings %s", db)
    out = capsys.readouterr().err
    assert "hunter2" not in out
    assert len([json.loads(line) for line in out.strip().splitlines()]) == 2


def test_a_password_with_uri_characters_survives_the_migration_uri():
    """'@', '/', ':' and '%' in a password are quoted, not parsed as parts of the URI."""
    from yoyo.connections import parse_uri

    db = DatabaseSettings(password="p@ss/w:rd%?", user="billing_balance")
    parsed = parse_uri(_yoyo_uri(db, "balance"))
    assert (parsed.username, parsed.password, parsed.hostname, parsed.database) == (
        "billing_balance", "p@ss/w:rd%?", "127.0.0.1", "billing")


def test_a_failed_database_connection_names_no_password(tmp_path):
    """Migrating against an unreachable server fails without the password in the error or traceback."""
    db = DatabaseSettings(port=1, password="hunter2-db", host="127.0.0.1")
    with pytest.raises(Exception) as failure:
        migrate(db, "balance", tmp_path)
    assert "hunter2" not in "".join(traceback.format_exception(failure.value))
