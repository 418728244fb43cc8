"""Invoicing: prepayment, subscription, license, partner plan and month-closing invoices.

The only module that knows every part of the service and wires them.
"""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.consumer import Input
from shared.service import Runtime, build_service
from shared.settings import InvoicingSettings
from shared.topics import COMMANDS, DIRECTORY

NAME = "invoicing"


def create_app(settings: InvoicingSettings | None = None) -> AsgiFastStream:
    runtime = Runtime(NAME, "invoicing", Path(__file__).parent / "migrations",
                      settings or InvoicingSettings())
    inputs = [
        Input(COMMANDS, "Month-close commands (CONTRACT.md §3.5)."),
        Input(DIRECTORY, "Partners, clients and channels (§3.2): recipients, plans and licenses.",
              owns_dead_letters=False),
    ]
    return build_service(runtime, inputs, "Invoicing", __doc__ or "")
