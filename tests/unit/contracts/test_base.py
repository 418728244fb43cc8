"""The value types every contract message is built from (CONTRACT.md §2)."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.contracts import (
    Amount,
    ContractModel,
    CountryCode,
    Id,
    IsoDate,
    Month,
    Rate,
    UnixSeconds,
    UtcDateTime,
    unix_seconds_to_utc,
)

AMOUNT = TypeAdapter(Amount)
RATE = TypeAdapter(Rate)
UTC_DATETIME = TypeAdapter(UtcDateTime)
MONTH = TypeAdapter(Month)
COUNTRY = TypeAdapter(CountryCode)
UNIX = TypeAdapter(UnixSeconds)
ISO_DATE = TypeAdapter(IsoDate)
ID = TypeAdapter(Id)


@pytest.mark.parametrize("text", ["25.00", "0.0613", "-0.1131", "0", "100", "0.000001", "12345678901234567890.123456"])
def test_amount_string_serialises_back_as_the_same_string(text: str) -> None:
    """A decimal string keeps its exact digits and scale through a round trip."""
    value = AMOUNT.validate_json(f'"{text}"')
    assert value == Decimal(text)
    assert AMOUNT.dump_json(value) == f'"{text}"'.encode()


@pytest.mark.parametrize("raw", ["25", "25.5", '"1e5"', '"NaN"', '"Infinity"', '"1,5"', '""', '" 1"', '"+1"',
                                 '"1."', '".5"', '"1.5\\n"', '"\\u0661"', "null", "true"])
def test_amount_that_is_not_a_plain_decimal_string_is_refused(raw: str) -> None:
    """JSON numbers, exponent form, NaN, commas and padding are not amounts."""
    with pytest.raises(ValidationError):
        AMOUNT.validate_json(raw)


def test_amount_longer_than_forty_characters_is_refused() -> None:
    """A bounded length keeps hostile amounts from making arithmetic expensive."""
    with pytest.raises(ValidationError):
        AMOUNT.validate_json('"' + "9" * 41 + '"')


def test_amount_accepts_a_decimal_from_python_and_writes_it_without_exponent() -> None:
    """Services build models with Decimal; an exponent-form Decimal is still written as plain digits."""
    assert AMOUNT.validate_python(Decimal("1E+5")) == Decimal("100000")
    assert AMOUNT.dump_json(Decimal("1E+5")) == b'"100000"'
    assert AMOUNT.dump_json(Decimal("1E-7")) == b'"0.0000001"'


@pytest.mark.parametrize("value", [1.5, 2, Decimal("NaN"), Decimal("Infinity")])
def test_amount_refuses_floats_ints_and_non_finite_decimals_from_python(value: object) -> None:
    """Money never passes through float, and NaN/Infinity cannot be written as a string amount."""
    with pytest.raises(ValidationError):
        AMOUNT.validate_python(value)


def test_amount_is_a_decimal_in_python_mode_dump() -> None:
    """model_dump() in Python mode keeps Decimal, only JSON output turns it into a string."""

    class Probe(ContractModel):
        amount: Amount

    probe = Probe.model_validate_json('{"amount": "1.10"}')
    assert probe.model_dump() == {"amount": Decimal("1.10")}
    assert probe.model_dump(mode="json") == {"amount": "1.10"}


@pytest.mark.parametrize("text", ["0.1131", "0", "0.123456", "12.000000"])
def test_rate_with_up_to_six_decimals_is_accepted(text: str) -> None:
    """Rates have at most 6 decimal places (§3.3)."""
    assert RATE.dump_json(RATE.validate_json(f'"{text}"')) == f'"{text}"'.encode()


@pytest.mark.parametrize("raw", ['"0.1234567"', '"0.1000000"', '"-0.1"', "0.5"])
def test_rate_with_seven_decimals_a_sign_or_a_number_is_refused(raw: str) -> None:
    """Seven written decimals (even trailing zeros), negatives and JSON numbers are not rates."""
    with pytest.raises(ValidationError):
        RATE.validate_json(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-17T09:30:00Z", "2026-10-17T09:30:00Z"),
        ("2026-10-17t09:30:00z", "2026-10-17T09:30:00Z"),
        ("2026-10-17T11:30:00+02:00", "2026-10-17T09:30:00Z"),
        ("2026-10-17T09:30:00.250-01:00", "2026-10-17T10:30:00.250000Z"),
    ],
)
def test_datetime_with_an_offset_is_normalised_to_utc_and_written_with_z(text: str, expected: str) -> None:
    """Times are RFC 3339 and come out in UTC with a Z (§2)."""
    value = UTC_DATETIME.validate_json(f'"{text}"')
    assert value.tzinfo is UTC
    assert UTC_DATETIME.dump_json(value) == f'"{expected}"'.encode()


@pytest.mark.parametrize(
    "raw",
    ['"2026-10-17T09:30:00"', '"2026-10-17"', '"2026-10-17 09:30:00Z"', "1792577700", '"1792577700"',
     '"2026-02-30T09:30:00Z"', '"2026-10-17T24:00:00Z"', '"17.10.2026 09:30"', "null"],
)
def test_naive_partial_or_numeric_datetime_is_refused(raw: str) -> None:
    """A time without timezone, a date alone, a space separator or a UNIX number is not RFC 3339."""
    with pytest.raises(ValidationError):
        UTC_DATETIME.validate_json(raw)


def test_naive_datetime_from_python_is_refused_and_aware_one_is_converted() -> None:
    """Python callers get the same rule: a timezone is required, the result is UTC."""
    with pytest.raises(ValidationError):
        UTC_DATETIME.validate_python(datetime(2026, 10, 17, 9, 30))
    cest = timezone(timedelta(hours=2))
    assert UTC_DATETIME.validate_python(datetime(2026, 10, 17, 11, 30, tzinfo=cest)) == datetime(
        2026, 10, 17, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["2026-01", "2026-10", "2026-12"])
def test_month_with_a_valid_month_number_is_accepted(text: str) -> None:
    """Months are written YYYY-MM."""
    assert MONTH.validate_json(f'"{text}"') == text


@pytest.mark.parametrize("raw", ['"2026-13"', '"2026-00"', '"2026-1"', '"2026-10-01"', '"202610"', "202610"])
def test_month_outside_01_to_12_or_badly_written_is_refused(raw: str) -> None:
    """Month 13, month 00 and other spellings are refused."""
    with pytest.raises(ValidationError):
        MONTH.validate_json(raw)


@pytest.mark.parametrize("raw", ['"de"', '"DEU"', '"D"', '"D1"'])
def test_country_code_that_is_not_two_uppercase_letters_is_refused(raw: str) -> None:
    """Country codes are ISO 3166-1 alpha-2, upper case."""
    with pytest.raises(ValidationError):
        COUNTRY.validate_json(raw)


def test_unix_seconds_string_converts_to_a_utc_datetime() -> None:
    """Meta's string timestamps become UTC datetimes."""
    assert unix_seconds_to_utc(UNIX.validate_json('"1792577700"')) == datetime(2026, 10, 21, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["1792577700", '"-1"', '"17925.77"', '""', '"123456789012"'])
def test_unix_seconds_as_number_or_non_digits_is_refused(raw: str) -> None:
    """Meta sends timestamps as strings of digits; anything else is refused."""
    with pytest.raises(ValidationError):
        UNIX.validate_json(raw)


def test_iso_date_accepts_only_a_plain_date_string() -> None:
    """effective_from-style dates are YYYY-MM-DD, not datetimes or numbers."""
    assert ISO_DATE.validate_json('"2026-10-01"') == date(2026, 10, 1)
    assert ISO_DATE.dump_json(date(2026, 10, 1)) == b'"2026-10-01"'
    for raw in ['"2026-10-01T00:00:00Z"', "1790000000", '"2026-02-30"']:
        with pytest.raises(ValidationError):
            ISO_DATE.validate_json(raw)


def test_id_must_be_non_empty_and_at_most_128_characters_without_suffix_rules() -> None:
    """Ids are opaque: the PA/CL/CH suffix convention is not enforced, length is."""
    assert ID.validate_json('"partner-without-suffix"') == "partner-without-suffix"
    for raw in ['""', '"' + "x" * 129 + '"']:
        with pytest.raises(ValidationError):
            ID.validate_json(raw)


def test_contract_models_are_frozen() -> None:
    """Messages are values: changing one after parsing is an error."""

    class Probe(ContractModel):
        month: Month

    probe = Probe(month="2026-10")
    with pytest.raises(ValidationError):
        probe.month = "2026-11"  # type: ignore[misc]
