"""Choosing what a dead-letter replay republishes, without a broker."""

import json

from ops.cli.replay import once, precheck
from shared.topics import PAYMENTS
from tests.examples import PAYMENT_PARTNER


def plan(offset: int, value: bytes, key: bytes = b"acmePA") -> dict:
    return {"topic": PAYMENTS.name, "dlq_offset": offset, "key": key, "value": value, "headers": []}


def test_the_same_record_dead_lettered_again_after_a_replay_is_replayed_once():
    """Letters of identical records (same topic, key and bytes) replay the first and say why not the rest."""
    value = json.dumps(PAYMENT_PARTNER).encode()
    plans = [plan(3, value), plan(7, value), plan(9, value, b"other")]
    once(plans)
    assert ["skip" in p for p in plans] == [False, True, False]
    assert plans[1]["skip"] == "the same record as DLQ offset 3"


def test_a_record_that_still_breaks_the_contract_is_skipped_unless_forced():
    """A fix on the services' side cannot make broken JSON valid: say so instead of looping it."""
    broken, good = plan(1, b"{not json"), plan(2, json.dumps(PAYMENT_PARTNER).encode())
    for p in (broken, good):
        precheck(p, force=False, max_bytes=65536)
    assert broken["skip"].startswith("still malformed_json:") and "--force" in broken["skip"]
    assert "skip" not in good
    forced = plan(1, b"{not json")
    precheck(forced, force=True, max_bytes=65536)
    assert "skip" not in forced
