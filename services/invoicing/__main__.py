"""`python -m services.invoicing`: run the service until SIGTERM."""

import sys

from shared.service import serve
from shared.settings import InvoicingSettings

from .app import create_app
from .documents.seller import SellerIncomplete, from_settings

settings = InvoicingSettings()
try:
    from_settings(settings.seller)
except SellerIncomplete as exc:
    # Every invoice gets documents naming the seller: none is issued without one.
    sys.exit(f"invoicing cannot start: {exc}")
serve(create_app(settings), settings)
