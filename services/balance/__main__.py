"""`python -m services.balance`: run the service until SIGTERM."""

from shared.service import serve
from shared.settings import BalanceSettings

from .app import create_app

settings = BalanceSettings()
serve(create_app(settings), settings)
