"""`python -m services.invoicing`: run the service until SIGTERM."""

from shared.service import serve
from shared.settings import InvoicingSettings

from .app import create_app

settings = InvoicingSettings()
serve(create_app(settings), settings)
