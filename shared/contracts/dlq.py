"""Dead letters (CONTRACT.md §3.8): what a refused message becomes on `<topic>.dlq`.

A message is never dropped silently and never blocks its partition, so every
refusal, whether by the schema here or by a service's business rule, ends as
a `DeadLetter` with one of the contract's error codes.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.contracts.base import ContractModel, UtcDateTime


class ErrorCode(StrEnum):
    """Why a message was refused; the closed set of §3.8."""

    MALFORMED_JSON = "malformed_json"
    SCHEMA_INVALID = "schema_invalid"
    TOO_LARGE = "too_large"
    UNKNOWN_ACCOUNT = "unknown_account"
    CURRENCY_MISMATCH = "currency_mismatch"
    BILLING_MODEL_CHANGE = "billing_model_change"
    INVALID_AMOUNT = "invalid_amount"
    REFUND_EXCEEDS_BALANCE = "refund_exceeds_balance"
    NO_RATE = "no_rate"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_INVOICE = "unknown_invoice"  # since 1.1
    CREDIT_EXCEEDS_INVOICE = "credit_exceeds_invoice"  # since 1.1


class ContractViolation(Exception):
    """A message refused for a reason that becomes a dead letter's `error`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


class DeadLetterError(ContractModel):
    """Why the message was refused."""

    code: ErrorCode = Field(description="One of the §3.8 error codes.")
    message: str = Field(description="A short human-readable reason, e.g. `status.timestamp: Field required`.")


class DeadLetterSource(ContractModel):
    """Where the refused message was, so an operator can find and replay it."""

    topic: str = Field(description="The topic that carried the refused message.")
    partition: Annotated[int, Field(strict=True, ge=0)] = Field(description="Its partition.")
    offset: Annotated[int, Field(strict=True, ge=0)] = Field(description="Its offset in that partition.")
    key: str | None = Field(default=None, description="Its key as text, if it had one.")


class DeadLetter(ContractModel):
    """A refused message, with why and where it was refused."""

    error: DeadLetterError = Field(description="Why it was refused.")
    source: DeadLetterSource = Field(description="Where it was read from.")
    payload: str = Field(description="The original value as text (invalid UTF-8 replaced by U+FFFD).")
    failed_at: UtcDateTime = Field(description="When it was refused.")

    @classmethod
    def build(
        cls,
        code: ErrorCode,
        message: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | str | None,
        payload: bytes | None,
        failed_at: datetime | None = None,
    ) -> "DeadLetter":
        """A dead letter for the record at (topic, partition, offset); `failed_at` defaults to now."""
        # errors="replace": a value refused *because* it is not UTF-8 must still be kept.
        key_text = key.decode("utf-8", errors="replace") if isinstance(key, bytes) else key
        payload_text = "" if payload is None else payload.decode("utf-8", errors="replace")
        return cls(
            error=DeadLetterError(code=code, message=message),
            source=DeadLetterSource(topic=topic, partition=partition, offset=offset, key=key_text),
            payload=payload_text,
            failed_at=failed_at if failed_at is not None else datetime.now(UTC),
        )
