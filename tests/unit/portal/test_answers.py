"""The hot reads' answers, built straight from rows, are byte for byte what the response models write."""

from datetime import UTC, date, datetime
from decimal import Decimal

from services.portal.api import answers
from services.portal.api.balances import account_of
from services.portal.api.hot import route
from services.portal.api.models import Balance, BalanceList, Forecast, UsageList, UsageRow
from services.portal.domain.forecast import forecast, window
from shared.money import plain

AT = datetime(2026, 10, 28, 10, 0, 0, 123456, tzinfo=UTC)
ROWS = [
    {"owner_id": "acmePA", "kind": "partner", "partner_id": "acmePA", "client_id": None,
     "billing_model": "partner_paid", "currency": "EUR", "amount": Decimal("150.000000"), "updated_at": AT},
    {"owner_id": "chän-1", "kind": "channel", "partner_id": "bobPA", "client_id": "bobCL",
     "billing_model": "direct_paid", "currency": "USD", "amount": Decimal("-0.113100"), "updated_at": None},
]


def model_balance(row: dict) -> Balance:
    return Balance(owner=account_of(row), currency=row["currency"], amount=plain(row["amount"]),  # type: ignore[arg-type]
                   state="active" if row["amount"] > 0 else "depleted", updated_at=row["updated_at"],
                   partner_id=row["partner_id"], client_id=row["client_id"], billing_model=row["billing_model"])


def test_a_balance_and_a_page_of_balances_are_written_as_their_models_write_them():
    """Owner, amount (at least two decimals), state, times in UTC with Z, nulls and non-ASCII ids alike."""
    for row in ROWS:
        assert answers.dumps(answers.balance(row)) == model_balance(row).model_dump_json().encode()  # type: ignore[arg-type]
    page = BalanceList(data=[model_balance(r) for r in ROWS], next_cursor="abc", as_of=AT)
    assert answers.page([answers.balance(r) for r in ROWS], "abc", AT) == page.model_dump_json().encode()  # type: ignore[arg-type]
    assert answers.page([], None, None) == BalanceList(data=[], next_cursor=None, as_of=None).model_dump_json().encode()


def test_a_forecast_with_and_without_spend_is_written_as_its_model_writes_it():
    """Spend per day and the day the balance reaches zero, or nulls without spend."""
    first, last = window(date(2026, 10, 28))
    for spent in (Decimal("7.35"), Decimal("0")):
        f = forecast(ROWS[0]["amount"], spent, last)  # type: ignore[arg-type]
        model = Forecast(owner=account_of(ROWS[0]), currency="EUR", amount=plain(ROWS[0]["amount"]),  # type: ignore[arg-type]
                         spend_per_day=plain(f.spend_per_day) if f.spend_per_day is not None else None,
                         zero_on=f.zero_on, window_start=first, window_end=last, as_of=AT)
        assert answers.forecast(ROWS[0], f, first, last, AT) == model.model_dump_json().encode()  # type: ignore[arg-type]


def test_a_page_of_usage_is_written_as_its_model_writes_it():
    """Charged and free messages and the exact amount of each channel, category and day."""
    row = {"channel_id": "ch1", "client_id": "bobCL", "category": "marketing", "day": date(2026, 10, 3),
           "charged": 21, "free": 1, "amount": Decimal("1.050000"), "currency": "EUR"}
    model = UsageList(data=[UsageRow(channel_id="ch1", client_id="bobCL", category="marketing", day=row["day"],  # type: ignore[arg-type]
                                     charged_messages=21, charged_amount=plain(row["amount"]), free_messages=1,  # type: ignore[arg-type]
                                     currency="EUR")], next_cursor=None, as_of=AT)
    assert answers.page([answers.usage_row(row)], None, AT) == model.model_dump_json().encode()


def test_only_plain_hot_reads_skip_fastapi():
    """Known routes with valid, single parameters are answered directly; anything doubtful goes to FastAPI."""
    for path, query in [("/v1/balances", b""), ("/v1/balances", b"limit=20&cursor=abc"), ("/v1/balances/x", b""),
                        ("/v1/balances/x/forecast", b""), ("/v1/usage", b"month=2026-10&channel_id=c&limit=100"),
                        ("/v1/invoices", b"period=2026-10&kind=credit_note&limit=1")]:
        assert route(path, query) is not None, (path, query)
    for path, query in [("/v1/balances", b"limit=0"), ("/v1/balances", b"limit=101"), ("/v1/balances", b"limit=05"),
                        ("/v1/balances", b"limit=1&limit=2"), ("/v1/balances", b"cursor="), ("/v1/balances", b"x=1"),
                        ("/v1/balances", b"cursor=" + b"a" * 513), ("/v1/balances/", b""), ("/v1/balances/x/", b""),
                        ("/v1/balances/x", b"limit=1"), ("/v1/balances/x/topup-requests", b""), ("/v1/usage", b""),
                        ("/v1/usage", b"month=2026-13"), ("/v1/usage", b"month=2026-10&channel_id=" + b"c" * 129),
                        ("/v1/invoices", b"kind=bill"), ("/v1/invoices", b"period=2026-1"), ("/v1/me", b""),
                        ("/v1/invoices/inv1", b""), ("/portal", b"")]:
        assert route(path, query) is None, (path, query)
