"""Every message type of the contract crosses the real broker and reads back through the models."""

import json

import pytest

from shared.contracts import decode, encode
from tests.examples import EVERY_MESSAGE_TYPE

from .kafka_io import publish, read_at


@pytest.mark.parametrize(("topic", "key", "value"), EVERY_MESSAGE_TYPE,
                         ids=[f"{t}:{v.get('type', 'message')}" for t, _, v in EVERY_MESSAGE_TYPE])
async def test_a_contract_message_published_to_its_topic_reads_back_equal(stack, topic, key, value):
    """Encoded by the models, stored by Kafka, decoded again: same model, same JSON, same key."""
    model = decode(topic, json.dumps(value).encode())
    [where] = await publish(stack.bootstrap, topic, [(key.encode(), encode(model))])
    record = await read_at(stack.bootstrap, where)
    again = decode(topic, record.value)
    assert again == model
    assert json.loads(record.value) == value, "the wire form is the contract's, field for field"
    assert record.key == key.encode()
