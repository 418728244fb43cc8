"""A consumer starts where its database says it stopped, re-reads what Kafka has not committed, and refuses
to start where the log no longer holds its position."""

import asyncio
import json

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker, TestKafkaBroker

from shared.consumer import Input, subscribe_batches
from shared.dead_letters import DeadLetterSink
from shared.metrics import ServiceMetrics
from shared.rebalance import Start, StoredPositionLost, StoredPositionsListener, check_stored, start_of
from shared.settings import InvoicingSettings
from shared.stored_positions import _BATCH, next_offsets, wait_until_read
from shared.topics import COMMANDS

TP = TopicPartition("wa.message-status.v1", 3)
CLOSE = json.dumps({"type": "month.close", "command_id": "c1", "month": "2026-10"}).encode()


def test_nothing_stored_leaves_the_start_to_kafka_and_adopts_its_committed_offset():
    """Before the first batch (or right after the upgrade) Kafka's committed offset is taken as the position."""
    assert start_of(TP, None, 40, 0, 100) == Start(adopt=40)
    assert start_of(TP, None, None, 0, 100) == Start()


def test_a_committed_offset_the_log_no_longer_holds_is_not_adopted():
    assert start_of(TP, None, 5, 10, 100) == Start()


def test_the_stored_position_wins_over_a_committed_offset_ahead_of_it_and_kafka_is_rewound():
    """A database restored from a backup replays from where it stood, and the barrier waits for it."""
    assert start_of(TP, 30, 90, 0, 100) == Start(seek=30, commit=True)


def test_a_committed_offset_behind_the_stored_position_is_read_from_so_the_tail_runs_again():
    """A crash between the database commit and Kafka's: the tail is read again (idempotently)."""
    assert start_of(TP, 60, 50, 0, 100) == Start(seek=50)


def test_equal_positions_need_no_commit():
    assert start_of(TP, 60, 60, 0, 100) == Start(seek=60)


def test_a_stored_position_without_a_committed_offset_is_committed_to_kafka():
    """Kafka expired the group's offsets: the stored position is the truth and Kafka is told."""
    assert start_of(TP, 60, None, 0, 100) == Start(seek=60, commit=True)
    assert start_of(TP, 60, 3, 10, 100) == Start(seek=60, commit=True)


def test_a_new_group_at_the_log_start_has_nothing_to_tell_kafka():
    """The first start stored the log's start: no commit (and no outbox to relay first) for a new group."""
    assert start_of(TP, 10, None, 10, 100) == Start(seek=10)


def test_a_stored_position_before_the_log_start_is_refused_naming_topic_partition_and_offsets():
    """Retention deleted records this service never read: it refuses rather than skips them."""
    problem = start_of(TP, 30, 90, 45, 100).problem
    assert problem is not None
    assert "wa.message-status.v1 partition 3" in problem and "30..44" in problem and "45" in problem


def test_a_stored_position_after_the_log_end_is_refused():
    """The topic was recreated (or lost records): reading from the stored position would skip the new ones."""
    problem = start_of(TP, 130, None, 0, 100).problem
    assert problem is not None and "130" in problem and "100" in problem


def test_a_batch_position_is_the_offset_after_the_last_record_of_each_partition():
    records = [ConsumerRecord("t", p, o, 0, 0, None, b"", None, 0, 0, ()) for p, o in ((0, 4), (1, 7), (0, 9))]
    assert next_offsets(records) == {TopicPartition("t", 0): 10, TopicPartition("t", 1): 8}


class FakePositions:
    """A PositionStore in memory."""

    def __init__(self, stored=None) -> None:
        self.stored = dict(stored or {})
        self.saved: list[dict] = []

    async def load(self, group, topics):
        return {tp: o for tp, o in self.stored.items() if tp.topic in set(topics)}

    async def save(self, group, positions):
        self.saved.append(dict(positions))


class FakeKafka:
    def __init__(self, starts, ends, committed=None) -> None:
        self._starts, self._ends, self._committed = starts, ends, committed or {}

    async def partitions(self, topic):
        return sorted(tp for tp in self._ends if tp.topic == topic)

    async def committed_at(self, group, parts):
        return {tp: o for tp, o in self._committed.items() if tp in parts}

    async def starts(self, parts):
        return {tp: self._starts[tp] for tp in parts}

    async def ends(self, parts):
        return {tp: self._ends[tp] for tp in parts}


async def test_a_service_does_not_start_while_a_stored_position_lies_outside_its_log():
    """The start-up check names every partition it cannot resume."""
    store = FakePositions({TP: 30, TopicPartition("wa.message-status.v1", 4): 12})
    kafka = FakeKafka({TP: 45, TopicPartition("wa.message-status.v1", 4): 0},
                      {TP: 100, TopicPartition("wa.message-status.v1", 4): 20})
    with pytest.raises(StoredPositionLost, match="wa.message-status.v1 partition 3"):
        await check_stored(store, kafka, "g", ["wa.message-status.v1"])  # type: ignore[arg-type]


async def test_a_service_whose_positions_are_in_the_log_starts():
    store = FakePositions({TP: 50})
    await check_stored(store, FakeKafka({TP: 45}, {TP: 100}), "g", ["wa.message-status.v1"])  # type: ignore[arg-type]
    assert store.saved == []


async def test_the_first_start_stores_a_position_for_every_partition_from_kafka_or_the_log_start():
    """From the first start on, every partition has a stored position: a database restored from a backup
    taken before a partition's first batch still replays it, instead of trusting Kafka's offset."""
    other = TopicPartition("wa.message-status.v1", 4)
    store = FakePositions()
    await check_stored(store, FakeKafka({TP: 5, other: 0}, {TP: 100, other: 20}, {TP: 60}),  # type: ignore[arg-type]
                       "g", ["wa.message-status.v1"])
    assert store.saved == [{TP: 60, other: 0}]


def wire(process, positions):
    broker = KafkaBroker()
    metrics = ServiceMetrics("test")
    sink = DeadLetterSink(broker, [COMMANDS], metrics)
    subscribe_batches(broker, Input(COMMANDS, "commands", process), settings=InvoicingSettings(), group_id="g",
                      sink=sink, metrics=metrics, positions=positions)  # type: ignore[arg-type]
    return broker


async def test_a_batch_that_wrote_nothing_stores_its_positions_on_its_own():
    """Every record refused: no transaction carried the positions, so the frame stores them."""
    positions = FakePositions()

    async def process(accepted):
        return ()

    async with TestKafkaBroker(wire(process, positions)) as br:
        await br.publish_batch(b"{oops", topic=COMMANDS.name)
    [saved] = positions.saved
    assert list(saved) == [TopicPartition(COMMANDS.name, 0)]


async def test_a_batch_whose_transaction_stored_its_positions_does_not_store_them_again():
    """The unit of work wrote them with the effects: no second transaction."""
    positions = FakePositions()
    seen = []

    async def process(accepted):
        current = _BATCH.get()
        seen.append(current.group)
        current.stored = True  # what shared.stored_positions.transaction does once it committed
        return ()

    async with TestKafkaBroker(wire(process, positions)) as br:
        await br.publish_batch(CLOSE, topic=COMMANDS.name)
    assert seen == ["g"] and positions.saved == []
    assert _BATCH.get() is None, "the batch's positions do not outlive it"


async def test_waiting_for_a_barrier_returns_once_the_stored_positions_reach_it():
    """A ledger close read again after a restore waits for the replay of the usage it closes."""
    positions = FakePositions({TP: 10})

    async def replay():
        await asyncio.sleep(0.05)
        positions.stored[TP] = 25

    replaying = asyncio.create_task(replay())
    await wait_until_read(positions, "g", {TP.topic: {3: 25, 4: 0}}, timeout_s=5, poll_s=0.01)  # type: ignore[arg-type]
    await replaying


async def test_waiting_for_a_barrier_gives_up_naming_what_is_behind():
    """The batch is then read again (and the failing batches are alerted on), not closed early."""
    with pytest.raises(TimeoutError, match="wa.message-status.v1/3@25"):
        await wait_until_read(FakePositions({TP: 10}), "g", {TP.topic: {3: 25}},  # type: ignore[arg-type]
                              timeout_s=0.05, poll_s=0.01)


async def test_a_command_without_a_barrier_waits_for_nothing():
    await wait_until_read(FakePositions(), "g", None, timeout_s=0)  # type: ignore[arg-type]


class FakeConsumer:
    """The part of aiokafka's consumer the listener uses, recording what it was told."""

    def __init__(self, starts, ends, committed) -> None:
        self._starts, self._ends, self._committed = starts, ends, committed
        self.seeks, self.commits, self.paused = {}, [], set()

    async def beginning_offsets(self, tps):
        return {tp: self._starts[tp] for tp in tps}

    async def end_offsets(self, tps):
        return {tp: self._ends[tp] for tp in tps}

    async def committed(self, tp):
        return self._committed.get(tp)

    def seek(self, tp, offset):
        self.seeks[tp] = offset

    def pause(self, *tps):
        self.paused |= set(tps)

    async def commit(self, offsets):
        self.commits.append(dict(offsets))


class Subscriber:
    def __init__(self, consumer) -> None:
        self.consumer = consumer


async def nothing_to_settle() -> None:
    return None


async def test_an_assignment_after_a_restore_reads_from_the_stored_position_and_sets_kafka_back():
    """Kafka's offset is ahead of the restored database: read from the database's, and commit it, so that
    the month close's barrier waits for the replay."""
    consumer = FakeConsumer({TP: 0}, {TP: 100}, {TP: 90})
    problems = {}
    listener = StoredPositionsListener(FakePositions({TP: 30}), "g", nothing_to_settle,
                                       lambda tp, why: problems.__setitem__(tp, why))  # type: ignore[arg-type]
    listener.bind(Subscriber(consumer))
    await listener.on_partitions_assigned({TP})
    assert consumer.seeks == {TP: 30} and consumer.commits == [{TP: 30}]
    assert problems == {TP: None}


async def test_an_assignment_of_a_partition_whose_records_were_deleted_pauses_it_and_reports_why():
    consumer = FakeConsumer({TP: 45}, {TP: 100}, {TP: 90})
    problems = {}
    listener = StoredPositionsListener(FakePositions({TP: 30}), "g", nothing_to_settle,
                                       lambda tp, why: problems.__setitem__(tp, why))  # type: ignore[arg-type]
    listener.bind(Subscriber(consumer))
    await listener.on_partitions_assigned({TP})
    assert consumer.paused == {TP} and consumer.seeks == {} and consumer.commits == []
    assert "30..44" in problems[TP]


async def test_a_stored_position_kafka_has_no_offset_for_is_committed_once_the_outbox_is_relayed():
    """Kafka's offsets expired: its committed offset may only say what is published, so the outbox first."""
    consumer = FakeConsumer({TP: 0}, {TP: 100}, {})
    order = []

    async def settle():
        order.append("settled")

    async def commit(offsets):
        order.append(("committed", dict(offsets)))

    consumer.commit = commit  # type: ignore[method-assign]
    listener = StoredPositionsListener(FakePositions({TP: 60}), "g", settle, lambda tp, why: None)  # type: ignore[arg-type]
    listener.bind(Subscriber(consumer))
    await listener.on_partitions_assigned({TP})
    assert consumer.seeks == {TP: 60} and order == ["settled", ("committed", {TP: 60})]


async def test_a_batch_waiting_for_a_barrier_gives_up_when_the_service_stops():
    """A stop does not wait for a long replay: the batch is left uncommitted and read again next time."""
    from shared.stored_positions import Interrupted

    stopping = asyncio.Event()
    stopping.set()
    with pytest.raises(Interrupted, match="wa.message-status.v1/3@25"):
        await wait_until_read(FakePositions({TP: 10}), "g", {TP.topic: {3: 25}},  # type: ignore[arg-type]
                              timeout_s=60, poll_s=0.01, stopping=stopping)
