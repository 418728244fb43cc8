"""`python -m tests.document_samples`: the PDF of one invoice of every kind (and a credit note), printed to
PNG in docs/samples/ with pdftoppm, to look at and to commit (every page of each, 80 dpi)."""

import subprocess
import tempfile
from pathlib import Path

from services.invoicing.documents.make import make
from services.invoicing.documents.seller import EXAMPLE_SELLER
from tests.invoice_examples import example_data

SAMPLES = Path(__file__).resolve().parents[1] / "docs" / "samples"
KINDS = ("prepayment", "subscription", "partner_plan", "license", "license_prorated", "month_closing",
         "credit_note")


def main() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    data = example_data()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            pdf = Path(tmp) / f"{kind}.pdf"
            pdf.write_bytes(next(d.content for d in make(data[kind], EXAMPLE_SELLER) if d.format == "pdf"))
            for old in SAMPLES.glob(f"{kind}-*.png"):
                old.unlink()
            subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(SAMPLES / kind)], check=True)
            print(*sorted(p.name for p in SAMPLES.glob(f"{kind}-*.png")))


if __name__ == "__main__":
    main()
