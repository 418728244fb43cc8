"""Refused input reaches its DLQ with the §3.8 envelope and never blocks the partition."""

import json
from pathlib import Path

from shared.contracts import DeadLetter, ErrorCode
from shared.topics import DIRECTORY, MESSAGE_STATUS

from .conftest import service_env
from .kafka_io import collect, committed_offsets, publish
from .processes import ServiceProcess

PREFIX = "BILLING_USAGE_INGEST_"


def a_status(message_id: str, channel_id: str) -> dict:
    return {
        "channel_id": channel_id, "waba_id": "102290129340398", "phone_number_id": "106540352242922",
        "received_at": "2026-10-20T10:15:02Z",
        "status": {"id": message_id, "status": "delivered", "timestamp": "1792577700",
                   "recipient_id": "4915112345678",
                   "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular",
                               "category": "marketing"}},
    }


def usage_ingest(stack, unique, tmp_path) -> ServiceProcess:
    env = service_env(stack, PREFIX, **{f"{PREFIX}GROUP_ID": f"test-ingest-{unique}"})
    return ServiceProcess("services.usage_ingest", env, f"{PREFIX}HTTP_PORT", tmp_path / "ingest.log")


async def test_every_kind_of_bad_status_lands_in_the_dlq_with_its_code_and_the_partition_moves_on(
        stack, unique, tmp_path):
    """Broken JSON, wrong shapes, unknown values, oversize and hostile headers are each dead-lettered."""
    key = f"{unique}CH".encode()  # one key: every record in one partition, in this order
    missing = a_status("m1", key.decode())
    del missing["status"]["timestamp"]
    unknown_status = a_status("m2", key.decode())
    unknown_status["status"]["status"] = "bounced"
    unknown_category = a_status("m3", key.decode())
    # Any category name is accepted since 1.1 (a new one is a pricing question); an empty one is not.
    unknown_category["status"]["pricing"]["category"] = ""
    oversized = a_status("m4", key.decode())
    oversized["padding"] = "x" * 70_000
    cases = [
        (b"{not json", ErrorCode.MALFORMED_JSON, ""),
        (b"[1, 2, 3]", ErrorCode.MALFORMED_JSON, ""),
        (b"\xff\xfe\x00", ErrorCode.MALFORMED_JSON, ""),
        (json.dumps(missing).encode(), ErrorCode.SCHEMA_INVALID, "status.timestamp"),
        (json.dumps(unknown_status).encode(), ErrorCode.SCHEMA_INVALID, "status.status"),
        (json.dumps(unknown_category).encode(), ErrorCode.SCHEMA_INVALID, "status.pricing.category"),
        (json.dumps(oversized).encode(), ErrorCode.TOO_LARGE, ""),
        # Near Kafka's own limit and six times larger once escaped: the letter is cut, not stuck.
        (b'{"x": "' + b"\x01" * 900_000 + b'"}', ErrorCode.TOO_LARGE, "payload truncated"),
    ]
    good = json.dumps(a_status("m-good", key.decode())).encode()

    with usage_ingest(stack, unique, tmp_path) as service:
        where = await publish(stack.bootstrap, MESSAGE_STATUS.name, [(key, v) for v, _, _ in cases])
        # A JSON content-type on a broken body and a header that is not UTF-8 must not
        # trip FastStream's own decoding before the gate sees the record.
        where += await publish(stack.bootstrap, MESSAGE_STATUS.name, [(key, b"{broken")],
                               headers=[("content-type", b"application/json"), ("x", b"\xff")])
        where += await publish(stack.bootstrap, MESSAGE_STATUS.name, [(key, good)])

        letters = await collect(stack.bootstrap, MESSAGE_STATUS.dlq, lambda r: r.key == key,
                                count=len(cases) + 1)
        partition = where[-1].partition
        group = f"test-ingest-{unique}"
        offsets = await _wait_committed(stack.bootstrap, group, MESSAGE_STATUS.name, partition,
                                        where[-1].offset + 1)
        assert service.terminate() == 0

    assert offsets == where[-1].offset + 1, "the good record after the bad ones was consumed"
    parsed = [DeadLetter.model_validate_json(r.value) for r in letters]
    by_offset = {d.source.offset: d for d in parsed}
    assert len(by_offset) == len(parsed) == len(cases) + 1, "each refused record once"
    for (value, code, field), meta in zip([*cases, (b"{broken", ErrorCode.MALFORMED_JSON, "")], where):
        letter = by_offset[meta.offset]
        assert letter.error.code == code
        assert field in letter.error.message
        assert letter.source.topic == MESSAGE_STATUS.name
        assert letter.source.partition == meta.partition
        assert letter.source.key == key.decode()
        text = value.decode("utf-8", errors="replace")
        assert letter.payload == text if len(value) < 100_000 else text.startswith(letter.payload)
    assert where[-1].offset not in by_offset, "the valid status is not dead-lettered"


async def _wait_committed(bootstrap, group, topic, partition, target, timeout_s=30.0):
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout_s
    offset = -1
    while asyncio.get_running_loop().time() < deadline:
        offset = (await committed_offsets(bootstrap, group)).get((topic, partition), -1)
        if offset >= target:
            return offset
        await asyncio.sleep(0.3)
    return offset


async def test_a_bad_directory_record_is_dead_lettered_once_although_three_services_read_it(
        stack, unique, tmp_path):
    """Only the topic's owner (usage ingest) writes the dead letter; the others skip the record."""
    key = f"{unique}PA".encode()
    bad = {"type": "partner.upserted", "partner_id": key.decode(), "name": "Acme",
           "billing_model": "prepaid_forever", "currency": "EUR", "plan": "growth",
           "created_at": "2026-09-01T00:00:00Z", "billing_address": {"country": "DE", "vat_id": None}}
    groups = {"usage_ingest": "BILLING_USAGE_INGEST_", "balance": "BILLING_BALANCE_",
              "invoicing": "BILLING_INVOICING_"}
    services = [
        ServiceProcess(f"services.{name}",
                       service_env(stack, prefix, **{f"{prefix}GROUP_ID": f"test-{name}-{unique}"}),
                       f"{prefix}HTTP_PORT", tmp_path / f"{name}.log")
        for name, prefix in groups.items()
    ]
    for service in services:
        service.start()
    try:
        [where] = await publish(stack.bootstrap, DIRECTORY.name, [(key, json.dumps(bad).encode())])
        for name in groups:
            assert await _wait_committed(stack.bootstrap, f"test-{name}-{unique}", DIRECTORY.name,
                                         where.partition, where.offset + 1) == where.offset + 1
        letters = await collect(stack.bootstrap, DIRECTORY.dlq, lambda r: r.key == key, count=2,
                                timeout_s=5)
    finally:
        codes = [s.terminate() for s in services]
    assert codes == [0, 0, 0]
    # A letter is written at least once: a batch read again (a rebalance at start-up) writes it again,
    # identical, under the same source position, its identity (docs/fault-model.md). So the owner's letters
    # name that one position, and the two other services refused nothing there.
    sources = {(s.topic, s.partition, s.offset) for s in
               (DeadLetter.model_validate_json(r.value).source for r in letters)}
    assert sources == {(DIRECTORY.name, where.partition, where.offset)}
    assert [name for name in ("balance", "invoicing")
            if _refused(tmp_path / f"{name}.log", DIRECTORY.name, where.partition, where.offset)] == []
    letter = DeadLetter.model_validate_json(letters[0].value)
    assert letter.error.code == ErrorCode.SCHEMA_INVALID
    assert "billing_model" in letter.error.message


def _refused(log: Path, topic: str, partition: int, offset: int) -> bool:
    """Whether the service's log says it refused (dead-lettered) the record at that position."""
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (event.get("event"), event.get("topic"), event.get("partition"), event.get("offset")) == (
                "record refused", topic, partition, offset):
            return True
    return False
