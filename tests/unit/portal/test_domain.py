"""The portal's pure rules: forecasts, statements and markups, cursors, keys, sign-in links, principals."""

import time
from datetime import date
from decimal import Decimal

import pytest

from services.portal.domain.cursors import CursorError, decode_cursor, encode_cursor
from services.portal.domain.forecast import forecast, window
from services.portal.domain.keys import hash_key, key_id_of, looks_like_key, new_key
from services.portal.domain.links import LinkError, Signer
from services.portal.domain.principals import Principal
from services.portal.domain.statement import MarkupError, UsageAtCost, parse_markup, statement, to_csv

D = Decimal
TODAY = date(2026, 10, 20)


def test_a_balance_with_spend_runs_out_on_the_day_its_pace_says():
    """70.00 spent over 7 days is 10.00 a day: 35.00 lasts 3 whole days more."""
    f = forecast(D("35.00"), D("70.00"), TODAY)
    assert (f.spend_per_day, f.zero_on) == (D("10.000000"), date(2026, 10, 23))
    assert window(TODAY) == (date(2026, 10, 14), TODAY)


def test_without_spend_there_is_no_forecast_and_a_depleted_balance_is_out_today():
    """No spend: null pace and date; at or below zero with spend: today."""
    assert forecast(D("35.00"), D(0), TODAY).zero_on is None
    assert forecast(D("35.00"), D(0), TODAY).spend_per_day is None
    assert forecast(D("-1.00"), D("7.00"), TODAY).zero_on == TODAY


@pytest.mark.parametrize("text", ["-5", "-0.01", "1000.01", "abc", "1.234", "NaN", "Infinity", ""])
def test_a_markup_that_cannot_be_a_price_is_refused(text):
    """Negative, above 1000 %, not a number, or more than 2 decimals."""
    with pytest.raises(MarkupError):
        parse_markup(text)


def test_a_statement_prices_each_line_once_and_sums_the_lines():
    """Cost × (1 + markup) rounded half up per line; an unset category is at cost; totals are sums."""
    s = statement("acmePA", "bobCL", "Bob", "2026-10", "EUR",
                  [UsageAtCost("ch1", "marketing", 3, D("0.3393")), UsageAtCost("ch1", "utility", 2, D("0.0912")),
                   UsageAtCost("ch2", "service", 0, D(0))], {"marketing": parse_markup("15 %")})
    assert [(x.category, x.price) for x in s.lines] == [("marketing", D("0.39")), ("utility", D("0.09"))]
    assert (s.messages, s.cost, s.price) == (5, D("0.4305"), D("0.48"))
    assert to_csv(s).splitlines()[-1] == "acmePA,bobCL,2026-10,EUR,total,,5,0.4305,,0.48"


def test_a_cursor_round_trips_and_anything_else_is_refused():
    """Ours decodes to its key; another list's, garbage, or a wrong shape is a CursorError."""
    assert decode_cursor("usage", encode_cursor("usage", ["2026-10-20", "ch", "marketing"]), 3) == [
        "2026-10-20", "ch", "marketing"]
    for bad in ("%%%", "e30", encode_cursor("balances", ["x"]), encode_cursor("usage", [True, "a", "b"]), encode_cursor("usage", [1, "a", "b"]), "x" * 600):
        with pytest.raises(CursorError):
            decode_cursor("usage", bad, 3)


def test_a_key_is_prefixed_high_entropy_and_named_by_its_id():
    """wab_live_<id>_<secret>; only its hash is kept; revoking takes the key or the id."""
    k = new_key()
    assert k.key.startswith("wab_live_key_") and looks_like_key(k.key) and len(k.key) > 60
    assert hash_key(k.key) == k.hash and len(k.hash) == 32
    assert key_id_of(k.key) == key_id_of(k.key_id) == k.key_id
    assert key_id_of("wab_live_garbage") is None and new_key().key != k.key


def test_a_sign_in_link_works_until_it_expires_and_a_forged_one_never():
    """Signed for a principal; altered → link_invalid; another secret → link_invalid; old → link_expired."""
    signer = Signer("secret")
    token = signer.link_token(Principal("client", "bobCL"))
    assert signer.principal_of_link(token, 60) == Principal("client", "bobCL")
    for forged, code in ((token[:-2] + "xx", "link_invalid"), (Signer("other").link_token(Principal("finance")),
                                                                "link_invalid")):
        with pytest.raises(LinkError) as err:
            signer.principal_of_link(forged, 60)
        assert err.value.code == code
    time.sleep(1.1)
    with pytest.raises(LinkError) as err:
        signer.principal_of_link(token, 0)
    assert err.value.code == "link_expired"
    with pytest.raises(LinkError):
        signer.principal_of_session(token, 60)  # a link is not a session


def test_a_partner_sees_its_own_rows_a_client_its_own_and_finance_all():
    """The rule the queries and RLS enforce, for people."""
    assert Principal("partner", "acmePA").sees("acmePA", None)
    assert not Principal("partner", "acmePA").sees("otherPA", "bobCL")
    assert Principal("client", "bobCL").sees("acmePA", "bobCL")
    assert not Principal("client", "bobCL").sees("acmePA", None)
    assert Principal("finance").sees(None, None)
    assert Principal.parse("client:bobCL") == Principal("client", "bobCL")
    with pytest.raises(ValueError):
        Principal.parse("admin:x")


def test_a_principal_id_with_a_quote_stays_one_sql_literal():
    """The id goes into the transaction's first statement quoted, never as SQL."""
    from services.portal.adapters.sessions import _literal

    assert _literal("O'Brien'); DROP TABLE x; --") == "'O''Brien''); DROP TABLE x; --'"
