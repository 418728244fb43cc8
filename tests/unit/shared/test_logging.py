"""Logs are JSON off a terminal and never carry personal data or secrets."""

import json
import logging

import structlog

from shared.logging import REDACTED_KEYS, configure_logging, get_logger, redact


def test_personal_data_and_secret_keys_are_redacted_whoever_binds_them():
    """recipient_id, phone_number and passwords are replaced before rendering."""
    event = {"event": "x", "recipient_id": "4915112345678", "phone_number": "+43123456789",
             "password": "s3cret", "offset": 12}
    out = redact(None, "info", dict(event))
    assert out["recipient_id"] == out["phone_number"] == out["password"] == "[redacted]"
    assert out["offset"] == 12
    assert {"recipient_id", "phone_number"} <= REDACTED_KEYS


def test_lines_are_json_with_bound_context_when_not_on_a_terminal(capsys):
    """One JSON object per line, with level, timestamp and the ids bound to the logger."""
    structlog.reset_defaults()
    import shared.logging as module

    module._configured = False
    configure_logging("INFO", json=True)
    get_logger("t", topic="wa.message-status.v1", partition=3).info(
        "record refused", offset=18872, recipient_id="4915112345678")
    logging.getLogger("aiokafka.test").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    ours, foreign = lines
    assert ours["event"] == "record refused"
    assert (ours["topic"], ours["partition"], ours["offset"]) == ("wa.message-status.v1", 3, 18872)
    assert ours["level"] == "info" and ours["timestamp"].endswith("Z")
    assert ours["recipient_id"] == "[redacted]"
    assert foreign["event"] == "from the standard library" and foreign["level"] == "warning"
