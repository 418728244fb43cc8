"""Bad input is refused before anything is published: exit code 2 and one line naming the option."""

import socket
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from ops.cli import app
from ops.cli.common import to_jsonable
from ops.cli.directory import _renewal, when
from ops.cli.invoices import CSV_COLUMNS, csv_rows
from shared.contracts import Invoice
from tests.examples import INVOICE


@pytest.fixture
def nowhere(monkeypatch) -> None:
    """No PostgreSQL and no Kafka: a port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("BILLING_DB_PORT", str(port))
    monkeypatch.setenv("BILLING_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")


def billing(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(("args", "message"), [
    (["directory", "partner", "xPA", "--name", "X", "--model", "partner_paid", "--currency", "EUR", "--plan",
      "growth", "--country", "Germany"], "invalid partner: --country: String should match pattern"),
    (["directory", "partner", "xPA", "--name", "X", "--model", "prepaid", "--currency", "EUR", "--plan", "growth",
      "--country", "DE"], "invalid partner: --model: Input should be 'partner_paid' or 'direct_paid'"),
    (["directory", "partner", "xPA", "--model", "partner_paid", "--currency", "EUR", "--plan", "growth",
      "--country", "DE"], "invalid partner: --name: Field required"),
    (["directory", "partner", "xPA", "--name", "X", "--model", "partner_paid", "--currency", "EUR", "--plan",
      "growth", "--country", "DE", "--renewal-threshold", "20"],
     "invalid partner: --renewal-amount: Field required"),
    (["directory", "partner", "xPA", "--name", "X", "--model", "partner_paid", "--currency", "EUR", "--plan",
      "growth", "--country", "DE", "--renewal-threshold", "20,5", "--renewal-amount", "50"],
     "--renewal-threshold: Amount must be a decimal string with a dot"),
    (["directory", "channel", "xCH", "--client", "xCL", "--partner", "xPA", "--license", "gold"],
     "invalid channel: --license: Input should be 'regular', 'premium' or 'high_throughput'"),
    (["directory", "channel", "xCH", "--client", "xCL", "--partner", "xPA", "--license", "regular", "--starts",
      "17.10.2026"], "--starts: Datetime must be RFC 3339 with a timezone"),
    (["directory", "cancel", "xCH", "--partner", "xPA", "--at", "yesterday"], "--at: Datetime must be RFC 3339"),
    (["directory", "client", "xCL", "--partner", "xPA", "--name", "X", "--country", "AT", "--portfolio", "9" * 129],
     "invalid client: --portfolio: String should have at most 128 characters"),
    (["money", "payment", "100.00", "--id", "p1"], "name exactly one balance: --partner PARTNER"),
    (["money", "payment", "100.00", "--id", "p1", "--partner", "a", "--channel", "b"], "name exactly one balance"),
    (["money", "payment", "0", "--id", "p1", "--partner", "a"], "amount must be positive (got 0)"),
    (["money", "payment", "1e3", "--id", "p1", "--partner", "a"], "amount must be a decimal number with a dot"),
    (["money", "payment", "10,50", "--id", "p1", "--partner", "a"], "amount must be a decimal number with a dot"),
    (["money", "refund", "0.0000001", "--id", "r1", "--partner", "a"], "amount has more than 6 decimal places"),
    (["money", "payment", "10", "--id", "p1", "--partner", "a", "--method", "cash"],
     "invalid payment: --method: Input should be 'card', 'bank_transfer', 'pix' or 'boleto'"),
    (["money", "payment", "10", "--id", "p1", "--partner", "a", "--currency", "GBP"],
     "invalid payment: --currency: Input should be 'EUR' or 'USD'"),
    (["money", "refund", "10", "--id", "r1", "--partner", "a", "--at", "2026-10-32"],
     "invalid refund: --at: Datetime is out of range"),
    (["invoices", "close", "2026-13"], "invalid month: MONTH: String should match pattern"),
    (["invoices", "close", "2999-01"], "2999-01 has not ended yet"),
    (["invoices", "list", "--month", "October"], "invalid month: --month"),
    (["invoices", "export", "2026-10", "--by", "quarter"], "--by is issued or period"),
    (["invoices", "credit", "INV-2026-000001", "--line", "3", "--reason", "x", "--settle", "payable"],
     "--line and --amount go in pairs: 1 --line, 0 --amount"),
    (["invoices", "credit", "INV-2026-000001", "--line", "3", "--amount", "0", "--reason", "x", "--settle",
      "payable"], "invalid credit: --amount of --line 3: Amount must be positive"),
    (["invoices", "credit", "INV-2026-000001", "--line", "3", "--amount", "25,00", "--reason", "x", "--settle",
      "payable"], "invalid credit: --amount of --line 3: Amount must be a decimal string with a dot"),
    (["invoices", "credit", "INV-2026-000001", "--line", "3", "--amount", "1.001", "--reason", "x", "--settle",
      "payable"], "invalid credit: --amount of --line 3: Amount must have at most 2 decimal places"),
    (["invoices", "credit", "INV-2026-000001", "--line", "-1", "--amount", "1.00", "--reason", "x", "--settle",
      "payable"], "invalid credit: --line -1: Input should be greater than or equal to 0"),
    (["invoices", "credit", "INV-2026-000001", "--line", "2", "--amount", "1.00", "--line", "2", "--amount", "2.00",
      "--reason", "x", "--settle", "payable"], "invalid credit: --line: each line may be named once"),
    (["invoices", "credit", "INV-2026-000001", "--reason", " ", "--settle", "payable"],
     "invalid credit: --reason: String should have at least 1 character"),
    (["invoices", "credit", "INV-2026-000001", "--reason", "x", "--settle", "cash"],
     "invalid credit: --settle: Input should be 'credit_balance' or 'payable'"),
    (["invoices", "list", "--kind", "refund"], "--kind 'refund' is not an invoice kind; one of: prepayment"),
    (["deadletters", "list", "--topic", "billing.nope.v1"], "no dead-letter topic for 'billing.nope.v1'; one of"),
    (["deadletters", "list", "--code", "oops"], "--code 'oops' is not an error code; one of: malformed_json"),
    (["deadletters", "replay", "billing.payments.v1"], "choose what to replay: --code, --offset, --key, or --all"),
])
def test_bad_input_exits_2_with_one_clear_line(nowhere, args, message):
    """Validated with the contract models; pydantic's error becomes `option: reason`."""
    result = billing(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_server_that_does_not_answer_is_exit_1_naming_the_settings(nowhere):
    """Reads against an unreachable database: one line, exit 1, and where to look."""
    result = billing("invoices", "list")
    assert result.exit_code == 1
    assert "BILLING_DB_*" in result.output and "billing stack status" in result.output


def test_help_shows_a_newcomer_every_task():
    """`billing --help` lists every group; each group lists its commands."""
    top = billing("--help").output
    for group in ("stack", "directory", "ratecards", "money", "invoices", "deadletters", "reconcile"):
        assert group in top
    expected = {"stack": ("start", "stop", "status"), "directory": ("partner", "client", "channel", "cancel"),
                "ratecards": ("import", "list"), "money": ("payment", "refund", "balance", "low"),
                "invoices": ("list", "show", "export", "close"), "deadletters": ("list", "show", "replay")}
    for group, commands in expected.items():
        text = billing(group, "--help").output
        assert all(c in text for c in commands), group


def test_times_take_a_date_or_now():
    """A bare date is midnight UTC; RFC 3339 passes through."""
    assert when("2026-10-17") == "2026-10-17T00:00:00Z"
    assert when("2026-10-17T09:30:00+02:00") == "2026-10-17T09:30:00+02:00"
    assert when("now").endswith("Z")


def test_json_output_keeps_money_exact():
    """Decimals are written as their exact strings, never as floats."""
    assert to_jsonable({"a": [Decimal("0.1131"), Decimal("-10.00")]}) == {"a": ["0.1131", "-10.00"]}


def test_the_accounting_export_has_one_row_per_line_in_the_documented_columns():
    """Invoice fields repeat on every line row; amounts stay exact."""
    rows = csv_rows([Invoice.model_validate(INVOICE)])
    assert [tuple(r) for r in rows] == [tuple(rows[0])] * 2 and set(rows[0]) == set(CSV_COLUMNS)
    assert [(r["line_no"], r["line_code"], r["channel_id"], str(r["line_amount"]), str(r["invoice_total"]))
            for r in rows] == [(1, "partner_plan", None, "500.00", "624.75"),
                               (2, "license", "acmeCH0001", "25.00", "624.75")]


def test_auto_renewal_changes_keep_what_was_not_given():
    """New values enable a renewal; --no-renewal keeps its amounts; a new threshold keeps it off if it was."""
    known = {"renewal_enabled": False, "renewal_threshold": Decimal("20.000000"), "renewal_amount": Decimal("50.000000")}
    assert _renewal({}, None, None, None) is None
    assert _renewal({}, None, "20.00", "50.00") == {"enabled": True, "threshold": "20.00", "amount": "50.00"}
    assert _renewal({**known, "renewal_enabled": True}, False, None, None) == {
        "enabled": False, "threshold": "20.00", "amount": "50.00"}
    assert _renewal(known, None, "30.00", None) == {"enabled": False, "threshold": "30.00", "amount": "50.00"}
    assert _renewal(known, True, None, None)["enabled"] is True
