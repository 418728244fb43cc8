"""Every topic of the contract exists with a deliberate partition count and its DLQ twin."""

import pytest

from shared.topics import ALL_TOPICS, INPUT_TOPICS, MESSAGE_STATUS, USAGE_PRICED, topic_partitions

CONTRACT_TOPICS = {"wa.message-status.v1", "billing.directory.v1", "billing.ratecards.v1",
                   "billing.payments.v1", "billing.commands.v1", "billing.balance-events.v1",
                   "billing.invoices.v1"}


def test_the_stack_creates_every_contract_topic_and_the_dlq_of_every_input():
    """CONTRACT.md §2's topics, a .dlq per input topic, and the internal ones."""
    names = set(topic_partitions())
    assert CONTRACT_TOPICS <= names
    assert {f"{t.name}.dlq" for t in INPUT_TOPICS} <= names
    assert USAGE_PRICED.name in names
    assert {t.name for t in ALL_TOPICS if t.external} == CONTRACT_TOPICS


def test_the_busiest_topics_have_room_for_several_instances():
    """Statuses and priced usage are spread over enough partitions to scale out."""
    assert MESSAGE_STATUS.partitions >= 6
    assert USAGE_PRICED.partitions >= 6


def test_an_output_topic_has_no_dlq():
    """Only inputs are refused; asking for an output's DLQ is a programming error."""
    output = next(t for t in ALL_TOPICS if t.name == "billing.invoices.v1")
    with pytest.raises(ValueError):
        _ = output.dlq
