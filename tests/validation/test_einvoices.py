"""Every kind of invoice and credit note, in every tax treatment, passes an independent validator:
the PDF as PDF/A-3 with valid Factur-X EN 16931 data, the CII as EN 16931, the XRechnung as XRechnung 3.0."""

from services.invoicing.documents.make import make
from services.invoicing.documents.seller import EXAMPLE_SELLER
from tests.invoice_examples import example_data

from .mustang import validate


def test_every_document_of_every_kind_and_treatment_is_valid(tmp_path):
    """Mustang 2.25.0 calls each of the examples' documents valid (one JVM for all of them)."""
    files = []
    for name, data in example_data().items():
        for document in make(data, EXAMPLE_SELLER):
            path = tmp_path / f"{name}-{document.filename}"
            path.write_bytes(document.content)
            files.append((path, data.treatment == "outside_scope"))
    verdicts = validate(files)
    assert len(verdicts) == len(files) == 26
    invalid = {v.path: v.errors for v in verdicts.values() if not v.valid}
    assert invalid == {}
