"""The outbox relay's record batches on the real broker: each key where aiokafka's `send` puts it, in the
relay's order, the origin on tracked topics, and a recorded reach that is exactly the topic's end."""

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry

from shared.kafka import PRODUCER_OPTIONS
from shared.outbox import OutboxRecord
from shared.outbox_publisher import OutboxPublisher
from shared.published_positions import ORIGIN_HEADER, reach

from .kafka_io import publish, read_to_end


async def test_relayed_batches_land_where_send_puts_each_key_and_their_reach_is_the_topics_end(stack, unique):
    """Two relay batches of 400 records over 40 keys on a 6-partition topic: every key in the partition a
    `send` of it lands in, its records in order, each with the origin, and the reach the end offsets."""
    relayed, sent = f"test.relay-{unique}", f"test.send-{unique}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(relayed, 6, 1), NewTopic(sent, 6, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, **PRODUCER_OPTIONS)
    await producer.start()
    try:
        publisher = OutboxPublisher(lambda: producer, CollectorRegistry(), "billing-test", frozenset({relayed}))
        publisher.origin = "db-test"
        records = [OutboxRecord(relayed, f"balance-{unique}-{i % 40}".encode(), f"{i}".encode()) for i in range(800)]
        acked = [*await publisher(records[:400]), *await publisher(records[400:])]
    finally:
        await producer.stop()
    keys = sorted({r.key for r in records})
    landed = await publish(stack.bootstrap, sent, [(k, b"") for k in keys])
    where_send_puts = {k: m.partition for k, m in zip(keys, landed, strict=True)}

    got = await read_to_end(stack.bootstrap, relayed, lambda r: True)
    assert {r.key: r.partition for r in got} == where_send_puts
    for key in keys:
        assert [r.value for r in got if r.key == key] == [r.value for r in records if r.key == key]
    assert all(r.headers == ((ORIGIN_HEADER, b"db-test"),) for r in got) and len(got) == 800

    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(relayed, p) for p in range(6)])
    finally:
        await consumer.stop()
    assert reach(acked, frozenset({relayed})) == {tp: end for tp, end in ends.items() if end}
