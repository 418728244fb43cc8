"""`billing`: the operators' and finance's command for the billing platform.

One group per task (see `billing --help` and docs/operations.md); every
command validates its input with the contract models, says in one line what
is wrong (exit 2 for bad input, 1 when the system refuses or is down) and
takes `--json` for scripts.
"""

import typer

from deploy.stack.cli import app as stack_app
from ops.reconcile import main as reconcile_main

from . import deadletters, directory, invoices, money, ratecards

app = typer.Typer(
    help="Operate the WhatsApp Business API billing platform: the stack, the directory and prices, money, "
    "invoices, dead letters and the reconciliation. Reaches Kafka and PostgreSQL through BILLING_KAFKA_* and "
    "BILLING_DB_* (defaults: the local stack).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack_app, name="stack", help="The local stack: start, stop, status (also `billing-stack`).")
app.add_typer(directory.app, name="directory")
app.add_typer(ratecards.app, name="ratecards")
app.add_typer(money.app, name="money")
app.add_typer(invoices.app, name="invoices")
app.add_typer(deadletters.app, name="deadletters")
app.command("reconcile", help="Check the invariants of money on the live system; exit 1 naming what is "
            "wrong.")(reconcile_main)

__all__ = ["app"]
