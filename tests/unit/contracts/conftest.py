"""Fixtures shared by the contract tests."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts import ContractViolation, ErrorCode, decode

Refuse = Callable[[str, Any], ContractViolation]


@pytest.fixture
def refuse() -> Refuse:
    """A function that decodes a value (dict → JSON bytes) and returns the ContractViolation it must raise."""

    def _refuse(topic: str, value: Any) -> ContractViolation:
        raw = value if isinstance(value, bytes) or value is None else json.dumps(value).encode()
        with pytest.raises(ContractViolation) as caught:
            decode(topic, raw)
        return caught.value

    return _refuse


@pytest.fixture
def schema_invalid(refuse: Refuse) -> Callable[[str, Any], str]:
    """A function that asserts a value is refused as schema_invalid and returns the message."""

    def _schema_invalid(topic: str, value: Any) -> str:
        violation = refuse(topic, value)
        assert violation.code is ErrorCode.SCHEMA_INVALID, violation
        return violation.message

    return _schema_invalid
