"""Batch consumption with the offset committed only after the batch's effects.

FastStream's Kafka default commits before the handler runs (at most once).
Here every input is consumed in batches and acknowledged by this frame
(`AckPolicy.MANUAL`): the consumer's positions are committed after the
handler's work, that is after its database transaction and its dead letters,
and an exception rewinds every partition of the batch to its first record.
A batch that ends while its consumer is rejoining the group is not committed
to Kafka (`_rejoining`): its positions are stored with its effects, and the
new assignment reads its tail again (idempotently), as after a crash. The
commit covers every assigned partition, which is safe because a batch holds
everything fetched since the last one;
the database, with its UNIQUE business ids, stays the source of truth for
what a redelivered record already did. The database also keeps the batch's
positions, written with its effects (`shared/stored_positions.py`); every
assignment starts from them (`shared/rebalance.py`), so a database restored
from a backup replays what it lacks.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.topics import Topic

from .dead_letters import Accepted, DeadLetterSink, Rejected, screen
from .kafka import consumer_options
from .logging import get_logger
from .metrics import ServiceMetrics
from .rebalance import StoredPositionsListener
from .settings import ServiceSettings
from .stored_positions import Interrupted, PositionStore, batch

log = get_logger(__name__)

# Returns the records the service refuses for business reasons (unknown
# account, no rate, …); they go to the DLQ before the commit.
Process = Callable[[list[Accepted]], Awaitable[Sequence[Rejected]]]

RETRY_BACKOFF_S = 1.0


async def _headerless(records: tuple[ConsumerRecord, ...], original: Callable[..., Any]) -> Any:
    """Drop headers before FastStream reads them: a hostile header (bad UTF-8, a JSON
    content-type on a broken body) must not fail the batch before the gate sees it."""
    for record in records:  # in place: a copy per record (dataclasses.replace) costs more than the rest
        record.headers = ()
    return await original(records)


async def _undecoded(_: Any) -> None:
    """Leave values as bytes; `shared.dead_letters.screen` decodes them against the contract."""
    return None


def _rejoining(consumer: AIOKafkaConsumer) -> bool:
    """Is the consumer between leaving its assignment and receiving the next one (a rebalance)?

    A commit sent then carries the old generation and reaches the coordinator after the group's
    JoinGroup completes: it fails with ILLEGAL_GENERATION, on which aiokafka forgets its member id and
    joins again as a new member; the old id stays in the group until its session times out (10 s),
    and every member waits that long for the next rebalance, which the new member starts. Under a
    steady stream (the more so with a short fetch wait: more, smaller batches) one such commit per
    rebalance chained the stalls for a minute (docs/decisions.md, "The fetch wait")."""
    subscription = getattr(consumer, "_subscription", None)  # aiokafka's only signal of it
    return bool(subscription is not None and subscription.reassignment_in_progress)


async def _rewind(message: KafkaMessage) -> None:
    """Seek every partition of the batch back to its first record; a failure is logged, as FastStream's
    own nack did (the stored positions and the next assignment still bring the records back)."""
    try:
        await message.nack()
    except Exception:
        log.exception("could not rewind the batch")


async def validate_only(accepted: list[Accepted]) -> Sequence[Rejected]:
    """The process of an input whose business handling is not built yet: the gate alone
    (contract validation and dead letters) runs, and valid records are committed."""
    return ()


@dataclass(frozen=True)
class Input:
    """One topic a service consumes, and what it does with a batch of it.

    Several services read some topics (the directory); only the topic's owner
    writes its dead letters, so that one refused record is one dead letter.
    The others skip what the owner refuses.
    """

    topic: Topic
    description: str
    process: Process = validate_only
    owns_dead_letters: bool = True
    # A larger input limit than the Kafka settings' (invoice documents carry whole PDFs).
    max_bytes: int | None = None
    # More topics read by the same subscriber: one consumer (one group member) for many small
    # topics keeps a group from rebalancing once per member at start-up (the portal reads 20).
    extra_topics: tuple[Topic, ...] = ()


def subscribe_batches(broker: KafkaBroker, spec: Input, *, settings: ServiceSettings, group_id: str,
                      sink: DeadLetterSink, metrics: ServiceMetrics, positions: PositionStore | None = None,
                      listener: StoredPositionsListener | None = None) -> None:
    """Register a batch subscriber of `spec.topic` that screens, processes, dead-letters, then commits.

    With `positions`, the batch's positions are stored in the database with its effects (or on their
    own once its dead letters are sent, if it wrote nothing else); `listener` places each assigned
    partition at its stored position."""
    topic, process = spec.topic, spec.process
    max_bytes = spec.max_bytes or settings.kafka.max_message_bytes
    topic_label = (metrics.service, topic.name)
    options = consumer_options(settings.kafka, busy=any(t.busy for t in (topic, *spec.extra_topics)))

    async def consume(message: KafkaMessage) -> None:
        records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
        started = time.perf_counter()
        try:
            with batch(group_id, records) if positions is not None else contextlib.nullcontext() as current:
                accepted, rejected = screen(records, max_bytes)
                refused = await process(accepted)
                if not spec.owns_dead_letters:
                    metrics.skipped.labels(*topic_label).inc(len(rejected))
                    rejected = []
                await sink.send([*rejected, *refused])
                if positions is not None and not current.stored:
                    await positions.save(group_id, current.next_offsets)
        except Interrupted as stop:
            log.info("batch left for the next start", topic=topic.name, reason=str(stop))
            await _rewind(message)
            raise
        except Exception:
            metrics.batch_failures.labels(*topic_label).inc()
            first = records[0]
            log.exception("batch failed; rewinding for redelivery", topic=topic.name,
                          partition=first.partition, offset=first.offset, records=len(records))
            # A failing dependency (database restarting, broker electing) gets a
            # moment before the same records come back; NackMessage has no backoff.
            await asyncio.sleep(RETRY_BACKOFF_S)
            await _rewind(message)
            raise
        if _rejoining(message.consumer):  # type: ignore[arg-type]
            log.info("batch not committed to Kafka while the group rebalances", topic=topic.name,
                     records=len(records))
        else:
            try:
                await message.ack()
            except CommitFailedError as lost:  # the group moved on meanwhile: as above
                log.warning("batch not committed to Kafka: the group rebalanced", topic=topic.name,
                            records=len(records), error=str(lost.args[-1]) if lost.args else "")
        metrics.batch_size.labels(*topic_label).observe(len(records))
        metrics.batch_seconds.labels(*topic_label).observe(time.perf_counter() - started)

    # A title names one channel `<topic>:consume`; a subscriber of several topics gets one channel per
    # topic, which FastStream names after the function (services/asyncapi.py writes them the same way).
    subscriber = broker.subscriber(
        topic.name, *(t.name for t in spec.extra_topics), group_id=group_id, batch=True,
        ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest", max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms, parser=_headerless, decoder=_undecoded,
        max_poll_interval_ms=600_000, listener=listener, **options,  # type: ignore[arg-type]
        title=None if spec.extra_topics else f"{topic.name}:consume", description=spec.description,
    )
    if listener is not None:
        listener.bind(subscriber)
    subscriber(consume)

