"""A batch handler screens, processes, dead-letters; an error rewinds instead of committing.

These run in memory with FastStream's TestKafkaBroker: they check the handler's
logic, not commits (those are proven against the real broker in tests/integration).
"""

import json

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from shared.consumer import Input, subscribe_batches
from shared.contracts import DeadLetter, ErrorCode, MonthClose
from shared.dead_letters import DeadLetterSink
from shared.metrics import ServiceMetrics
from shared.settings import InvoicingSettings
from shared.topics import COMMANDS

CLOSE = json.dumps({"type": "month.close", "command_id": "c1", "month": "2026-10"}).encode()


def wire(process, owns_dead_letters=True):
    broker = KafkaBroker()
    metrics = ServiceMetrics("test")
    sink = DeadLetterSink(broker, [COMMANDS] if owns_dead_letters else [], metrics)
    subscribe_batches(broker, Input(COMMANDS, "commands", process, owns_dead_letters),
                      settings=InvoicingSettings(), group_id="g", sink=sink, metrics=metrics)
    return broker, metrics


async def test_good_records_reach_the_process_and_bad_ones_the_dlq():
    """The process sees contract models only; the bad record becomes a dead letter."""
    seen = []

    async def process(accepted):
        seen.extend(a.message for a in accepted)
        return ()

    broker, _ = wire(process)
    dead = []

    @broker.subscriber(COMMANDS.dlq)
    async def dlq(body: dict) -> None:
        dead.append(body)

    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(CLOSE, b"{oops", topic=COMMANDS.name)
    assert seen == [MonthClose(type="month.close", command_id="c1", month="2026-10")]
    [letter] = [DeadLetter.model_validate(d) for d in dead]
    assert letter.error.code == ErrorCode.MALFORMED_JSON


async def test_a_reader_that_does_not_own_the_topic_skips_bad_records_without_a_dead_letter():
    """One refused record, one dead letter: only the topic's owner writes it."""
    async def process(accepted):
        return ()

    broker, metrics = wire(process, owns_dead_letters=False)
    dead = []

    @broker.subscriber(COMMANDS.dlq)
    async def dlq(body: dict) -> None:
        dead.append(body)

    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(b"{oops", topic=COMMANDS.name)
    assert dead == []
    assert metrics.skipped.labels("test", COMMANDS.name)._value.get() == 1


async def test_a_failing_process_raises_so_the_batch_is_rewound_and_nothing_is_dead_lettered(monkeypatch):
    """An error (database down) must not be mistaken for bad input."""

    async def process(accepted):
        raise ConnectionError("database restarting")

    broker, metrics = wire(process)
    dead = []

    @broker.subscriber(COMMANDS.dlq)
    async def dlq(body: dict) -> None:
        dead.append(body)

    monkeypatch.setattr("shared.consumer.RETRY_BACKOFF_S", 0)
    async with TestKafkaBroker(broker) as br:
        with pytest.raises(ConnectionError):
            await br.publish_batch(CLOSE, b"{oops", topic=COMMANDS.name)
    assert dead == []
    assert metrics.batch_failures.labels("test", COMMANDS.name)._value.get() == 1


@pytest.mark.parametrize("rejoining", [False, True])
async def test_a_batch_is_committed_unless_its_consumer_is_rejoining_the_group(monkeypatch, rejoining):
    """After the process, the batch is acknowledged to Kafka, except while a rebalance is under way:
    a commit then would fail and make the consumer join again as a new member."""
    acks = []

    async def process(accepted):
        return ()

    async def ack(message):
        acks.append(len(message.raw_message))

    monkeypatch.setattr("shared.consumer._rejoining", lambda consumer: rejoining)
    monkeypatch.setattr("faststream.kafka.message.KafkaAckableMessage.ack", ack)
    broker, _ = wire(process)
    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(CLOSE, CLOSE, topic=COMMANDS.name)
    assert acks == ([] if rejoining else [2])
