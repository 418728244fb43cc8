"""`python -m services.portal`: run the service until SIGTERM."""

from shared.service import serve
from shared.settings import PortalSettings

from .app import create_app

settings = PortalSettings()
serve(create_app(settings), settings)  # type: ignore[arg-type]
