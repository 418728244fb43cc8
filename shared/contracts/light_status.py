"""`wa.message-status.v1` read straight from bytes into light structures (msgspec), for the hot path.

Only what billing reads is declared, with the constraints of the models in
`status.py` and `base.py`; everything else is skipped unread. The rules that a
msgspec type cannot state (patterns, the group rule, RFC 3339 times) are
checked by `read` with the models' own patterns and parsers. Whatever the
fast path does not accept is decided by the pydantic models (registry.read),
so a record is refused, and with which dead-letter code and message, exactly
as before; `tests/unit/contracts/test_light_status.py` checks that both
paths agree.
"""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from shared.contracts.base import _to_utc_datetime
from shared.contracts.status import _E164, MessageStatus, StatusReading

_Id = Annotated[str, Meta(min_length=1, max_length=128)]
_MessageId = Annotated[str, Meta(min_length=1, max_length=256)]
_Short = Annotated[str, Meta(min_length=1, max_length=64)]


class LightOrigin(Struct, frozen=True):
    type: _Short


class LightConversation(Struct, frozen=True):
    id: _MessageId
    origin: LightOrigin | None = None


class LightPricing(Struct, frozen=True, kw_only=True):
    billable: bool | None = None
    pricing_model: Literal["PMP", "CBP"]
    category: _Short
    type: Literal["regular", "free_customer_service", "free_entry_point", "free_group_customer_service"] | None = None


class LightStatus(Struct, StatusReading, frozen=True, kw_only=True):
    """Meta's status item, as `status.Status` reads it; the recipient's number is never shown by repr."""

    id: _MessageId
    status: Literal["sent", "delivered", "read", "played", "failed"]
    timestamp: str
    recipient_type: Literal["individual", "group"] | None = None
    recipient_id: _MessageId
    recipient_participant_id: str | None = None
    conversation: LightConversation | None = None
    pricing: LightPricing | None = None

    def __repr__(self) -> str:
        # Personal data (§4.1): the recipient fields stay out of every log line.
        return f"LightStatus(id={self.id!r}, status={self.status!r}, timestamp={self.timestamp!r})"


class LightMessageStatus(Struct, frozen=True, kw_only=True):
    """A status record as usage ingest reads it; `received_at` is kept as its (checked) RFC 3339 text."""

    channel_id: _Id
    waba_id: _Id | None = None
    phone_number_id: _Id | None = None
    received_at: str
    status: LightStatus


_DECODER = msgspec.json.Decoder(LightMessageStatus)

# `received_at` texts already checked: a batch's statuses were mostly received in the same few seconds, and
# parsing an RFC 3339 time is the dearest check of a status. Bounded: emptied when full.
_TIMES_SEEN_MAX = 4096
_times_seen: dict[str, None] = {}


def read(value: bytes) -> LightMessageStatus | None:
    """The status in `value`, or None when the models have to decide (they may refuse it)."""
    try:
        message = _DECODER.decode(value)
        return message if _accepts(message) else None
    except Exception:  # noqa: BLE001 - anything unusual is the models' to judge, with their own error
        return None


def _accepts(message: LightMessageStatus) -> bool:
    """The rules of the models beyond types and lengths: True when the models would accept them too."""
    s = message.status
    t = s.timestamp
    # UnixSeconds: ^[0-9]{1,11}$ (ASCII digits only, as the pattern's [0-9]).
    if not (0 < len(t) <= 11 and t.isascii() and t.isdigit()):
        return False
    group = s.recipient_type == "group"
    if not group and not _E164.fullmatch(s.recipient_id):
        return False
    participant = s.recipient_participant_id
    if participant is None:
        if group:
            return False
    elif not _E164.fullmatch(participant):
        return False
    received_at = message.received_at
    if received_at not in _times_seen:
        _to_utc_datetime(received_at)  # raises what the model would refuse
        if len(_times_seen) >= _TIMES_SEEN_MAX:
            _times_seen.clear()
        _times_seen[received_at] = None
    return True


def light_of(model: MessageStatus) -> LightMessageStatus:
    """The light structure of a status the models accepted but the fast path did not (e.g. JSON the fast
    parser declines, such as NaN in an unknown field)."""
    s = model.status
    c, p = s.conversation, s.pricing
    return LightMessageStatus(
        channel_id=model.channel_id, waba_id=model.waba_id, phone_number_id=model.phone_number_id,
        received_at=model.received_at.isoformat().replace("+00:00", "Z"),
        status=LightStatus(
            id=s.id, status=s.status, timestamp=s.timestamp, recipient_type=s.recipient_type,
            recipient_id=s.recipient_id, recipient_participant_id=s.recipient_participant_id,
            conversation=LightConversation(c.id, LightOrigin(c.origin.type) if c.origin else None) if c else None,
            pricing=LightPricing(billable=p.billable, pricing_model=p.pricing_model, category=p.category,
                                 type=p.type) if p else None))
