"""The committed AsyncAPI documents are what the code generates."""

from services.asyncapi import FACTORIES, document, stale


def test_the_committed_asyncapi_documents_match_the_code():
    """Run `python -m services.asyncapi` after changing a subscriber, publisher or contract model."""
    assert stale() == []


def test_every_consumed_topic_documents_its_contract_payload_and_every_owned_input_its_dlq():
    """Subscribers show the contract model they validate against; DLQ publishers are declared."""
    doc = document(FACTORIES["usage-ingest"])
    channels = set(doc["channels"])
    assert {"wa.message-status.v1:consume", "wa.message-status.v1.dlq:publish",
            "billing.directory.v1.dlq:publish", "billing.ratecards.v1.dlq:publish"} <= channels
    payload = doc["components"]["messages"]["wa.message-status.v1:consume:SubscribeMessage"]["payload"]
    schema = doc["components"]["schemas"][payload["$ref"].rsplit("/", 1)[1]]
    assert "status" in schema["properties"]
