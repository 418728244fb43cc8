"""`billing`: the operators' and finance's command for the billing platform.

One group per task (see `billing --help` and docs/operations.md); every
command validates its input with the contract models, says in one line what
is wrong (exit 2 for bad input, 1 when the system refuses or is down) and
takes `--json` for scripts.
"""

import typer

from deploy.stack.cli import app as stack_app
from ops.positions import app as positions_app
from ops.reconcile import main as reconcile_main

from . import credit_notes, deadletters, directory, invoices, keys, money, ratecards

EXAMPLES = """**Tasks** (each command has `--help`; `--json` for scripts; docs/operations.md has them all):

* `billing stack start` · `billing stack status` · `billing stack stop`

* `billing directory partner acmePA --name "Acme GmbH" --model partner_paid --currency EUR --plan growth --country DE`

* `billing directory client bobCL --partner acmePA --name "Bob's Bikes" --country AT`

* `billing directory channel acmeCH0001 --client bobCL --license regular --starts 2026-10-01`

* `billing directory cancel acmeCH0001 --at 2026-11-03T12:00:00Z`

* `billing ratecards import meta.csv --market DE=Germany --market AT="Rest of Western Europe"`

* `billing money payment 100.00 --partner acmePA --id pay_7Hq2 --method card` · `billing money refund 30.00 ...`

* `billing money balance acmePA` · `billing money low`

* `billing invoices list --recipient acmePA --month 2026-10` · `billing invoices show INV-2026-000042`

* `billing invoices export 2026-10 -o october.csv` · `billing invoices close 2026-10`

* `billing invoices credit INV-2026-000042 --line 3 --amount 10.00 --reason "channel down" --settle credit_balance`

* `billing deadletters list --topic billing.payments.v1 --code unknown_account`

* `billing deadletters show billing.payments.v1 12`

* `billing deadletters replay billing.payments.v1 --offset 12` (republishes the original record; twice is harmless)

* `billing keys create --partner acmePA` (the API key, once, on the last line) · `billing keys revoke KEY`

* `billing portal link --client bobCL` (a short-lived sign-in link)

* `billing reconcile`

* `billing positions show` · `billing positions rewind` (after a restore, services stopped)
"""

app = typer.Typer(
    help="Operate the WhatsApp Business API billing platform: the stack, the directory and prices, money, "
    "invoices, dead letters and the reconciliation. Reaches Kafka and PostgreSQL through BILLING_KAFKA_* and "
    "BILLING_DB_* (defaults: the local stack).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    epilog=EXAMPLES,
)
app.add_typer(stack_app, name="stack", help="The local stack: start, stop, status (also `billing-stack`).")
app.add_typer(directory.app, name="directory")
app.add_typer(ratecards.app, name="ratecards")
app.add_typer(money.app, name="money")
app.add_typer(invoices.app, name="invoices")
app.add_typer(deadletters.app, name="deadletters")
app.add_typer(keys.app, name="keys")
app.add_typer(keys.portal_app, name="portal")
app.add_typer(positions_app, name="positions")
app.command("reconcile", help="Check the invariants of money on the live system; exit 1 naming what is "
            "wrong.")(reconcile_main)

__all__ = ["app", "credit_notes"]  # credit_notes adds `invoices credit` to the invoices group
