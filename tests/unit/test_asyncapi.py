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


def test_the_html_page_is_self_contained_and_every_link_on_it_lands_on_an_anchor():
    """No script, stylesheet or image from the network; each `#…` link has its id on the page."""
    import re

    from services.asyncapi import files

    page = files()["index.html"]
    assert "<script" not in page and "http://" not in page and "https://" not in page
    ids = set(re.findall(r'id="([^"]+)"', page))
    links = set(re.findall(r'href="#([^"]+)"', page))
    assert links and links <= ids, sorted(links - ids)[:5]


def test_the_html_page_lists_every_operation_of_every_service_with_its_topic():
    """Each service's consumed and published topics are on the page, as rows with anchors."""
    from services.asyncapi import files
    from services.asyncapi_html import anchor

    page = files()["index.html"]
    for name, factory in FACTORIES.items():
        doc = document(factory)
        for operation in doc["operations"]:
            assert f'id="{anchor(name, "operation", operation)}"' in page
        assert doc["info"]["title"] in page
