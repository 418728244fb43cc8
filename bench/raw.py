"""`python -m bench.raw`: one hop of the raw limit, bare aiokafka with no processing at all.

It consumes `--source` in a consumer group, produces one record per input to `--target` (same key
and value), waits for the broker's acknowledgements, and only then commits its offsets: the same
consume → produce → commit cycle, batch size, consumer and producer settings (`acks=all`,
idempotence) as a service, minus everything a service does in between (validation, SQL, the outbox).
Chained hops over topics with the services' partition counts give the most the machine can move
through the same number of hops.
"""

import asyncio
import contextlib
import signal

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError

from shared.consumer import _rejoining
from shared.kafka import PRODUCER_OPTIONS, consumer_options
from shared.settings import KafkaSettings


async def hop(bootstrap: str, source: str, target: str, group: str, max_records: int, timeout_ms: int) -> None:
    # Every hop carries a stream as busy as the services' busiest: fetched as they fetch it.
    options = consumer_options(KafkaSettings(), busy=True)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_interval_ms=600_000, **options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_OPTIONS)
    await producer.start()
    await consumer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
            if not batch:
                continue
            futures = [await producer.send(target, value=r.value, key=r.key)
                       for records in batch.values() for r in records]
            await asyncio.gather(*futures)
            # The services' discipline (shared/consumer.py): no commit while the group rebalances (the hops of
            # two instances join one after the other), and a commit the group refuses anyway is not fatal.
            if not _rejoining(consumer):
                with contextlib.suppress(CommitFailedError):
                    await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def main(bootstrap: str = typer.Option(...), source: str = typer.Option(...), target: str = typer.Option(...),
         group: str = typer.Option(...), max_records: int = typer.Option(1000),
         timeout_ms: int = typer.Option(100)) -> None:
    with contextlib.suppress(ImportError):
        import uvloop  # the services run on uvloop too (uvicorn picks it when installed)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(hop(bootstrap, source, target, group, max_records, timeout_ms))


if __name__ == "__main__":
    typer.run(main)
