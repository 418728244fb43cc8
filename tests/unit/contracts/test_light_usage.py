"""Priced usage and usage days as light structures: read like the model reads them, written with its bytes."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.contracts import (Account, LightAccount, LightPricedUsage, LightUsageDay, PricedUsage, UsageDay, encode,
                              read)
from shared.topics import USAGE_PRICED

from . import agreement
from .agreement import (MISSING, WRONG_TYPES, by_models, digits, encoded, fast_read_or_none, json_values,
                        objects, rfc3339_times, texts, with_value, wrong_types)

TOPIC = USAGE_PRICED.name
FIELDS = ("usage_id", "partner_id", "client_id", "channel_id", "billing_model", "currency", "category",
          "pricing_model", "conversation_id", "country", "market", "ratecard_id", "rate", "tier_from", "amount",
          "billed_at", "usage_month")

ids = st.text(min_size=1, max_size=128)
amounts = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**6, max_value=10**6)
rates = st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=100, places=6)
utc_times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


def amount_texts(valid: st.SearchStrategy[Decimal]) -> st.SearchStrategy[str]:
    return valid.map(lambda d: format(d, "f"))


accounts = objects({"partner_id": (st.just("acmePA"), st.just("") | st.text(min_size=129) | wrong_types),
                    "channel_id": (st.just(MISSING), st.just("acmeCH0001") | st.none())})
records = objects({
    "usage_id": (texts("wamid.1", "wamid.G1/0123456789abcdef0123456789abcdef", max_size=320).filter(len),
                 st.text(min_size=321) | st.just("") | wrong_types | st.just(MISSING)),
    "balance": (accounts | st.just({"channel_id": "acmeCH0001"}), st.just({}) | wrong_types),
    "partner_id": (ids, st.just("") | wrong_types),
    "client_id": (st.just("bobCL"), st.text(min_size=129)),
    "channel_id": (st.just("acmeCH0001"), st.just(MISSING)),
    "billing_model": (st.sampled_from(["partner_paid", "direct_paid"]), st.just("prepaid")),
    "currency": (st.sampled_from(["EUR", "USD"]), st.sampled_from(["eur", "GBP"])),
    "category": (texts("marketing", max_size=64).filter(len), st.text(min_size=65)),
    "pricing_model": (st.sampled_from(["PMP", "CBP"]), st.just("X")),
    "conversation_id": (st.just(MISSING) | st.none() | st.text(max_size=20), wrong_types),
    "country": (st.just(MISSING) | st.none() | st.sampled_from(["DE", "US"]),
                st.sampled_from(["de", "DEU", "D", "DE\n", "ÄB"]) | wrong_types),
    "market": (texts("Germany"), wrong_types | st.just(MISSING)),
    "ratecard_id": (st.just("test-2026-10-EUR"), st.just("")),
    "rate": (amount_texts(rates), st.sampled_from(["-0.1", "0.1234567", "1e-3", "NaN", " 1", "1.", ".5"])
             | st.integers() | st.text(max_size=5)),
    "tier_from": (st.just(MISSING) | st.none() | st.integers(0, 10**12), st.integers(max_value=-1)
                  | st.sampled_from([1.0, 2.5, "5", True, 2**70])),
    "amount": (amount_texts(amounts), st.sampled_from(["1e3", "+1", "1,5", "0x10", "9" * 41]) | st.floats()),
    "billed_at": (utc_times.map(lambda t: t.isoformat().replace("+00:00", "Z")), rfc3339_times() | wrong_types),
    "usage_month": (st.sampled_from(["2026-10", "1999-12"]), st.sampled_from(["2026-13", "2026-1", "2026-10\n"])
                    | digits(0, 7)),
})


def values_of(u: LightPricedUsage | PricedUsage) -> tuple[Any, ...]:
    return (u.balance.partner_id, u.balance.channel_id, u.balance.owner_id, *(getattr(u, f) for f in FIELDS))


def assert_agree(value: bytes) -> None:
    agreement.assert_agree(TOPIC, value, PricedUsage, LightPricedUsage, values_of)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.dictionaries(st.sampled_from(["x", "note"]), json_values, max_size=2), st.booleans())
def test_generated_priced_usage_is_accepted_and_refused_alike(value, extra, ascii_only):
    """Valid and invalid records (amounts as strings only, RFC 3339 times, exactly one balance owner, unknown
    fields): read accepts what the model accepts, with the same values, and refuses the rest alike."""
    value = encoded(value, ascii_only, extra)
    event("accepted" if isinstance(by_models(TOPIC, value), PricedUsage) else "refused")
    assert_agree(value)


VALID = {"usage_id": "wamid.1", "balance": {"partner_id": "acmePA"}, "partner_id": "acmePA", "client_id": "bobCL",
         "channel_id": "acmeCH0001", "billing_model": "partner_paid", "currency": "EUR", "category": "marketing",
         "pricing_model": "PMP", "conversation_id": None, "country": "DE", "market": "Germany",
         "ratecard_id": "test-2026-10-EUR", "rate": "0.1131", "tier_from": 0, "amount": "0.1131",
         "billed_at": "2026-10-20T10:15:01Z", "usage_month": "2026-10"}
EDGES = {
    "usage_id": ["", "x" * 320, "x" * 321], "balance": [{"partner_id": "a", "channel_id": "b"}, {"x": "a"}],
    "balance.partner_id": ["", "p" * 128, "p" * 129], "client_id": ["", "c" * 129], "billing_model": ["prepaid"],
    "currency": ["eur"], "category": ["", "c" * 64, "c" * 65], "pricing_model": ["pmp"],
    "country": ["de", "DEU", "D", "DE\n", "ÄB", "", MISSING], "market": ["", "any market"],
    "ratecard_id": ["", "r" * 129], "rate": ["-0.1", "0.1234567", "0.123456", "1e-3", "NaN", " 1", "1.", ".5", "٣",
                                            "0", "-0", "9" * 40, "9" * 41, 1],
    "tier_from": [-1, 1.0, 2.5, "5", True, 2**63, 2**64, 2**70, MISSING], "amount": ["1e3", "+1", "-0.5", "١", 1.5],
    "billed_at": ["2026-10-20T10:15:01+02:00", "2026-10-20t10:15:01z", "2026-10-20T10:15:01",
                  "0001-01-01T00:00:00+01:00", "2026-02-30T00:00:00Z", "2026-10-20T10:15:01.1234567890Z",
                  "2026-10-20T10:15:01Z\n", 1792577700],
    "usage_month": ["2026-13", "2026-1", "2026-10\n", "2026-00", "٢٠٢٦-10"],
}


def test_every_edge_value_alone_is_judged_alike():
    """Each edge of the contract, and each wrong type, in an otherwise valid record: the same verdict."""
    assert isinstance(fast_read_or_none(TOPIC, json.dumps(VALID).encode()), LightPricedUsage)
    for path, values in EDGES.items():
        for value in [*values, *WRONG_TYPES]:
            assert_agree(json.dumps(with_value(VALID, path, value)).encode())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(
    dict, usage_id=st.text(min_size=1, max_size=320), partner_id=ids, client_id=ids, channel_id=ids,
    billing_model=st.sampled_from(["partner_paid", "direct_paid"]), currency=st.sampled_from(["EUR", "USD"]),
    category=st.text(min_size=1, max_size=64), pricing_model=st.sampled_from(["PMP", "CBP"]),
    conversation_id=st.none() | st.text(), country=st.none() | st.sampled_from(["DE", "US", "AT"]),
    market=st.text(), ratecard_id=ids, rate=rates, tier_from=st.none() | st.integers(0, 10**12),
    amount=rates, billed_at=utc_times, usage_month=st.sampled_from(["2026-10", "2027-01"])),
    st.booleans())
def test_priced_usage_is_written_with_the_bytes_of_its_model(fields, partner_paid):
    """Any text (quotes, controls, non-ASCII), any rate and time: `encode` of the light structure writes
    exactly what `encode` of the model writes, and balance reads back the same values."""
    owner = {"partner_id": fields["partner_id"]} if partner_paid else {"channel_id": fields["channel_id"]}
    light = LightPricedUsage(balance=LightAccount(**owner), **fields)
    model = PricedUsage(balance=Account(**owner), **fields)
    assert encode(light) == encode(model)
    assert values_of(read(TOPIC, encode(light))) == values_of(model)


def test_a_representative_priced_usage_is_written_with_the_bytes_of_its_model():
    """A German marketing message in a volume band, billed at a time with microseconds."""
    fields = dict(usage_id="wamid.1", partner_id="acmePA", client_id="bobCL", channel_id="acmeCH0001",
                  billing_model="partner_paid", currency="EUR", category="marketing", pricing_model="CBP",
                  conversation_id="c1", country="DE", market="Germany", ratecard_id="test-2026-10-EUR",
                  rate=Decimal("0.1131"), tier_from=1000, amount=Decimal("0.1131"),
                  billed_at=datetime(2026, 10, 20, 10, 15, 1, 250, tzinfo=timezone(timedelta(hours=2))),
                  usage_month="2026-10")
    light = LightPricedUsage(balance=LightAccount(partner_id="acmePA"), **fields)
    written = encode(light)
    assert written == encode(PricedUsage(balance=Account(partner_id="acmePA"), **fields))
    assert json.loads(written)["billed_at"] == "2026-10-20T08:15:01.000250Z"


@settings(max_examples=200, deadline=None)
@given(st.builds(
    dict, usage_day_id=ids, channel_id=ids, client_id=ids, partner_id=ids,
    billing_model=st.sampled_from(["partner_paid", "direct_paid"]), currency=st.sampled_from(["EUR", "USD"]),
    day=st.dates(min_value=date(1970, 1, 1)), category=st.text(min_size=1, max_size=64),
    charged=st.integers(0, 10**9), free=st.integers(0, 10**9), amount=amounts, version=st.integers(1, 10**9)))
def test_a_usage_day_is_written_with_the_bytes_of_its_model(fields):
    """The portal's usage per day: the light structure writes exactly what the model writes."""
    assert encode(LightUsageDay(**fields)) == encode(UsageDay(**fields))
