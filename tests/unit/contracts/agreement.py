"""What the property tests of the light structures share: the outcome of both paths, and JSON to try them on."""

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from shared.contracts import ContractViolation, decode, read
from shared.contracts.registry import fast_read

MISSING = object()

# JSON values of every kind, for unknown fields and for fields given the wrong type.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
wrong_types = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(st.integers(),
                                                                                                max_size=2)


def texts(*valid: str, max_size: int = 300) -> st.SearchStrategy[str]:
    """The given values, or any text up to `max_size` characters (beyond the limits, the empty one)."""
    return st.sampled_from(valid) | st.text(max_size=max_size)


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


def rfc3339_times() -> st.SearchStrategy[str]:
    """Times in RFC 3339 form and near misses (lower case, no zone, out of range, a space, a newline)."""
    stamp = st.builds(
        lambda y, mo, d, h, mi, s, frac, zone, sep:
        f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}",
        st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60),
        st.integers(0, 60), st.sampled_from(["", ".5", ".123456", ".123456789", ".1234567890"]),
        st.sampled_from(["Z", "z", "+02:00", "-01:00", "+14:00", "", "+2:00", "Z\n"]),
        st.sampled_from(["T", "T", "t", " "]))
    return stamp | st.sampled_from(["2026-10-20T10:15:02Z", "2026-10-20", "0001-01-01T00:00:00+01:00",
                                    "9999-12-31T23:59:59-01:00", ""])


Fields = dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any] | None]]


def objects(fields: Fields) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose fields are drawn valid, except at most one drawn from its invalid values (MISSING leaves a
    field out; None: no invalid values), so that accepted records are common and every invalid value is tried
    where it alone decides."""

    @st.composite
    def draw(data: st.DrawFn) -> dict[str, Any]:
        broken = data(st.sampled_from([*[None] * len(fields), *sorted(fields)]))  # half of them valid
        out = {}
        for name, (valid, invalid) in fields.items():
            value = data(invalid if name == broken and invalid is not None else valid)
            if value is not MISSING:
                out[name] = value
        return out

    return draw()


def encoded(value: Any, ascii_only: bool, extra: dict[str, Any]) -> bytes:
    """JSON bytes of `value` (with unknown fields added to an object), escaped or not."""
    if isinstance(value, dict):
        value = {**extra, **value}
    return json.dumps(value, ensure_ascii=ascii_only).encode()


def by_models(topic: str, value: bytes) -> Any:
    """The model, or (code, message) of the refusal."""
    try:
        return decode(topic, value)
    except ContractViolation as violation:
        return violation.code, violation.message


def by_read(topic: str, value: bytes) -> Any:
    try:
        return read(topic, value)
    except ContractViolation as violation:
        return violation.code, violation.message


def fast_read_or_none(topic: str, value: bytes) -> Any:
    """The fast path's light structure, or None where it leaves the decision to the models."""
    try:
        return fast_read(topic, value)
    except ContractViolation:
        return None  # refused before any parsing, by the checks both paths share


def with_value(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `record` with the field at the dotted `path` set to `value` (MISSING: left out)."""
    out = copy.deepcopy(record)
    *parents, name = path.split(".")
    target = out
    for parent in parents:
        target = target[parent]
    if value is MISSING:
        target.pop(name, None)
    else:
        target[name] = value
    return out


WRONG_TYPES = [None, True, 0, 1.5, [], {}, MISSING]
"""Values of every other JSON type, and absence."""


def assert_agree(topic: str, value: bytes, model: type, light: type, values_of: Callable[[Any], tuple]) -> None:
    """`read` accepts what the models accept, with the same `values_of`, and refuses the rest with the same
    dead-letter code and message; what the fast path accepts on its own, the models accept too."""
    expected, got = by_models(topic, value), by_read(topic, value)
    if isinstance(expected, model):
        assert isinstance(got, light) and values_of(got) == values_of(expected)
    else:
        assert got == expected
    fast = fast_read_or_none(topic, value)
    if fast is not None:
        assert isinstance(expected, model) and values_of(fast) == values_of(expected)
