"""The committed OpenAPI document is what the code generates, and it describes every §6 route."""

from services.portal.openapi import document, stale


def test_the_committed_openapi_document_matches_the_code():
    """Run `python -m services.portal.openapi` after changing a route or a model."""
    assert not stale()


def test_the_document_is_openapi_3_1_with_every_binding_route_and_the_error_shape():
    """§6's routes are there; errors are {"error": {"code", "message"}}."""
    doc = document()
    assert doc["openapi"].startswith("3.1")
    assert {"/v1/balances", "/v1/balances/{owner_id}", "/v1/invoices", "/v1/invoices/{invoice_id}",
            "/v1/invoices/{invoice_id}/pdf", "/v1/invoices/{invoice_id}/xml", "/v1/usage"} <= set(doc["paths"])
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]
    limit = next(p for p in doc["paths"]["/v1/balances"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
