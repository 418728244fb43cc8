"""Which contract each topic carries, and the one way to read and write its values.

Every consumer reads through `read` (the models of `decode`, or light
structures for the hot topics that the models back), so every service refuses
the same messages with the same dead-letter codes and messages (CONTRACT.md §3.8).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from shared import topics
from shared.contracts import light_status, light_usage
from shared.contracts.balance_credits import BalanceCredit
from shared.contracts.balance_events import BalanceEvent
from shared.contracts.balance_moves import BalanceMoved
from shared.contracts.base import ContractModel
from shared.contracts.commands import Command
from shared.contracts.directory import DirectoryEvent
from shared.contracts.documents import InvoiceDocument
from shared.contracts.dlq import ContractViolation, DeadLetter, ErrorCode
from shared.contracts.invoices import Invoice
from shared.contracts.ledger import LedgerClose, LedgerClosedEvent, LedgerEntry
from shared.contracts.payments import PaymentEvent
from shared.contracts.ratecards import RateCard
from shared.contracts.reconciliation import ReconciliationRan
from shared.contracts.status import MessageStatus
from shared.contracts.topup_requests import TopupRequest
from shared.contracts.usage_days import UsageDay
from shared.contracts.usage_priced import PricedUsage

DEFAULT_MAX_BYTES = 64 * 1024
# Well below the depth at which the models' JSON parser refuses (200): more brackets than this, and the
# model reads the record.
_FAST_MAX_BRACKETS = 64
_MAX_REPORTED_ERRORS = 3
_JSON_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True)
class _Contract:
    adapter: TypeAdapter[Any]
    # pydantic puts the tag in front of every error location of a tagged union;
    # it is dropped so messages read "amount: ...", not "payment.succeeded.amount: ...".
    tagged: bool


_DEAD_LETTER = _Contract(TypeAdapter(DeadLetter), tagged=False)
_CONTRACTS: Mapping[str, _Contract] = MappingProxyType(
    {
        topics.MESSAGE_STATUS.name: _Contract(TypeAdapter(MessageStatus), tagged=False),
        topics.DIRECTORY.name: _Contract(TypeAdapter(DirectoryEvent), tagged=True),
        topics.RATECARDS.name: _Contract(TypeAdapter(RateCard), tagged=False),
        topics.PAYMENTS.name: _Contract(TypeAdapter(PaymentEvent), tagged=True),
        topics.COMMANDS.name: _Contract(TypeAdapter(Command), tagged=True),
        topics.BALANCE_EVENTS.name: _Contract(TypeAdapter(BalanceEvent), tagged=True),
        topics.INVOICES.name: _Contract(TypeAdapter(Invoice), tagged=False),
        topics.USAGE_PRICED.name: _Contract(TypeAdapter(PricedUsage), tagged=False),
        topics.LEDGER_ENTRIES.name: _Contract(TypeAdapter(LedgerEntry), tagged=False),
        topics.LEDGER_CLOSE.name: _Contract(TypeAdapter(LedgerClose), tagged=False),
        topics.LEDGER_CLOSED.name: _Contract(TypeAdapter(LedgerClosedEvent), tagged=True),
        topics.INVOICE_DOCUMENTS.name: _Contract(TypeAdapter(InvoiceDocument), tagged=False),
        topics.BALANCE_MOVES.name: _Contract(TypeAdapter(BalanceMoved), tagged=False),
        topics.USAGE_DAYS.name: _Contract(TypeAdapter(UsageDay), tagged=False),
        topics.TOPUP_REQUESTS.name: _Contract(TypeAdapter(TopupRequest), tagged=False),
        topics.RECONCILIATION.name: _Contract(TypeAdapter(ReconciliationRan), tagged=False),
        topics.BALANCE_CREDITS.name: _Contract(TypeAdapter(BalanceCredit), tagged=False),
        **{t.dlq: _DEAD_LETTER for t in topics.ALL_TOPICS if t.has_dlq},
    }
)


@dataclass(frozen=True)
class _Fast:
    read: Callable[[bytes], Any]  # the light structure, or None when the model must decide
    light_of: Callable[[Any], Any]  # the light structure of a model


_FAST: Mapping[str, _Fast] = MappingProxyType({
    topics.MESSAGE_STATUS.name: _Fast(light_status.read, light_status.light_of),
    topics.USAGE_PRICED.name: _Fast(light_usage.read, light_usage.light_of),
})

# Topics whose records may be larger than a reader's usual limit (a whole invoice PDF): their own limit holds.
_TOPIC_MAX_BYTES = {t.name: t.max_message_bytes for t in topics.ALL_TOPICS if t.max_message_bytes}

ADAPTERS: Mapping[str, TypeAdapter[Any]] = MappingProxyType({name: c.adapter for name, c in _CONTRACTS.items()})
"""Topic name → the TypeAdapter of what the topic carries (external topics and their DLQs)."""


def adapter_for(topic: str) -> TypeAdapter[Any]:
    """The TypeAdapter of `topic`; KeyError for a topic without a contract."""
    return _contract_for(topic).adapter


def _contract_for(topic: str) -> _Contract:
    try:
        return _CONTRACTS[topic]
    except KeyError:
        raise KeyError(f"no contract is registered for topic {topic!r}") from None


def decode(topic: str, value: bytes | None, max_bytes: int = DEFAULT_MAX_BYTES) -> ContractModel:
    """The model in a record value of `topic`, or ContractViolation with its dead-letter code. A topic that
    declares a larger record size (shared/topics.py) is read up to that size."""
    contract = _contract_for(topic)
    return _validated(contract, _checked(topic, value, max_bytes))


def read(topic: str, value: bytes | None, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """What a consumer works on: `decode`'s model, or for the hot topics (statuses, priced usage) a light
    structure read straight from bytes. One validation decides for both: a record the fast path does not
    accept goes through the model, which refuses it with its code and message (or accepts it, and its
    light structure is made from the model)."""
    fast = _FAST.get(topic)
    if fast is None:
        return decode(topic, value, max_bytes)
    checked = _checked(topic, value, max_bytes)
    light = _fast_read(fast, checked)
    return light if light is not None else fast.light_of(_validated(_contract_for(topic), checked))


def fast_read(topic: str, value: bytes | None, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The fast path of `read` alone: the light structure, None where the models decide, ContractViolation for
    a value that is not a JSON object within the limit (tests compare it with the models)."""
    return _fast_read(_FAST[topic], _checked(topic, value, max_bytes))


def _fast_read(fast: _Fast, checked: bytes) -> Any:
    # The fast parser has no nesting limit; the models' parser refuses deep nesting as malformed JSON.
    if checked.count(b"{") + checked.count(b"[") > _FAST_MAX_BRACKETS:
        return None
    return fast.read(checked)


def _checked(topic: str, value: bytes | None, max_bytes: int) -> bytes:
    """The value, if it can be a JSON object within the size limit; else ContractViolation."""
    max_bytes = max(max_bytes, _TOPIC_MAX_BYTES.get(topic, 0))
    if value is None:
        raise ContractViolation(ErrorCode.MALFORMED_JSON, "value is null (no payload)")
    # Before any parsing: the limit exists so that a huge value costs nothing.
    if len(value) > max_bytes:
        raise ContractViolation(ErrorCode.TOO_LARGE, f"value is {len(value)} bytes, the limit is {max_bytes}")
    # ASCII is UTF-8: the check without decoding a copy (a record with an invoice's PDF is megabytes).
    if not value.isascii():
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractViolation(ErrorCode.MALFORMED_JSON,
                                    f"value is not valid UTF-8 (byte {exc.start})") from None
    # Checked here because a pydantic "Input should be an object" would read as a schema error.
    if value.lstrip(_JSON_WHITESPACE)[:1] != b"{":
        raise ContractViolation(ErrorCode.MALFORMED_JSON, "value is not a JSON object")
    return value


def _validated(contract: _Contract, value: bytes) -> ContractModel:
    try:
        model: ContractModel = contract.adapter.validate_json(value)
    except ValidationError as exc:
        # `from None`: the ValidationError's text repeats the input, which may hold
        # personal data (a recipient's phone number) that must not reach a traceback.
        errors = exc.errors(include_url=False, include_input=False)
        for error in errors:
            if error["type"] == "json_invalid":
                raise ContractViolation(ErrorCode.MALFORMED_JSON, error["msg"]) from None
        raise ContractViolation(ErrorCode.SCHEMA_INVALID, describe_errors(errors, contract.tagged)) from None
    return model


def describe_errors(errors: list[ErrorDetails], tagged: bool = False) -> str:
    """A short message like `status.timestamp: Field required`, at most three errors joined by "; "."""
    return "; ".join(_describe(error, tagged) for error in errors[:_MAX_REPORTED_ERRORS])


def _describe(error: ErrorDetails, tagged: bool) -> str:
    if error["type"] == "union_tag_not_found":
        return "type: Field required"
    if error["type"] == "union_tag_invalid":
        expected = (error.get("ctx") or {}).get("expected_tags", "")
        return f"type: Input should be one of {expected}"
    loc = error["loc"][1:] if tagged else error["loc"]
    path = ".".join(str(part) for part in loc)
    return f"{path}: {error['msg']}" if path else error["msg"]


def encode(model: ContractModel | light_usage.LightPricedUsage | light_usage.LightUsageDay) -> bytes:
    """The compact JSON record value of a contract model, unknown (extra) fields included; a light structure
    is written with the same bytes as its model."""
    if isinstance(model, light_usage.LightPricedUsage):
        return light_usage.to_json(model)
    if isinstance(model, light_usage.LightUsageDay):
        return light_usage.usage_day_json(model)
    return model.model_dump_json(by_alias=True, exclude_none=False).encode("utf-8")
