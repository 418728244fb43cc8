"""Balance: the prepaid credit ledger of every Partner-Paid partner and Direct-Paid channel.

The only module that knows every part of the service and wires them.
"""

from pathlib import Path

from faststream.asgi import AsgiFastStream

from shared.consumer import Input
from shared.service import Runtime, build_service
from shared.settings import BalanceSettings
from shared.topics import DIRECTORY, PAYMENTS

NAME = "balance"


def create_app(settings: BalanceSettings | None = None) -> AsgiFastStream:
    runtime = Runtime(NAME, "balance", Path(__file__).parent / "migrations", settings or BalanceSettings())
    inputs = [
        Input(PAYMENTS, "Top-ups and refunds (CONTRACT.md §3.4) that credit or debit a balance."),
        Input(DIRECTORY, "Partners and channels (§3.2): which balances exist, what pauses with them.",
              owns_dead_letters=False),
    ]
    return build_service(runtime, inputs, "Balance", __doc__ or "")
