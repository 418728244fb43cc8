"""`python -m services.usage_ingest`: run the service until SIGTERM."""

from shared.service import serve
from shared.settings import UsageIngestSettings

from .app import create_app

settings = UsageIngestSettings()
serve(create_app(settings), settings)
