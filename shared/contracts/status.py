"""`wa.message-status.v1` (CONTRACT.md §3.1): one WhatsApp message status.

The `status` object is Meta's webhook item, forwarded unchanged, so only what
billing reads is declared; the rest (`errors`, `biz_opaque_callback_data`,
`recipient_identity_key_hash`, ...) travels along as extra fields.
"""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shared.contracts.base import (Category, ContractModel, Id, UnixSeconds, UtcDateTime, absent_when_none,
                                   unix_seconds_to_utc)

# wamids are base64 blobs whose length Meta does not promise; 128 would be tight.
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=256)]

# E.164 without "+": up to 15 digits today; 5..20 leaves room without accepting junk.
_E164_PATTERN = r"^[0-9]{5,20}$"
_E164 = re.compile(_E164_PATTERN)
RecipientId = Annotated[str, StringConstraints(pattern=_E164_PATTERN)]

# A group's id is Meta's opaque token, not a number.
GroupOrRecipientId = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ConversationOrigin(ContractModel):
    """Why Meta opened the conversation (legacy conversation-based pricing)."""

    # Not restricted: the contract does not list origin types and billing does not read them.
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="Meta's conversation origin type, e.g. `marketing`."
    )


class Conversation(ContractModel):
    """The conversation a message belongs to; its id is the CBP billing unit."""

    id: MessageId = Field(description="Meta's conversation id.")
    origin: ConversationOrigin | None = Field(default=None, description="Why the conversation was opened.")


class Pricing(ContractModel):
    """Meta's pricing verdict for a message."""

    # Meta deprecates `billable` (2026): absent, `type` decides (§4.1).
    billable: Annotated[bool, Field(strict=True)] | None = Field(
        default=None, exclude_if=absent_when_none,
        description="Whether Meta bills this message; deprecated by Meta, `type` decides when it is absent.")
    pricing_model: Literal["PMP", "CBP"] = Field(
        description="`PMP` per message, `CBP` per conversation (legacy)."
    )
    category: Category = Field(description="The pricing category; with the market it selects the rate.")
    type: Literal["regular", "free_customer_service", "free_entry_point", "free_group_customer_service"] | None = (
        Field(default=None, description="Anything other than `regular` is free.")
    )


class StatusReading:
    """What billing derives from a status item; shared by the model and the light structure (light_status.py)."""

    # No annotations here: pydantic would take them for fields. The classes give recipient_type, recipient_id,
    # recipient_participant_id and timestamp.
    __slots__ = ()

    @property
    def is_group(self) -> bool:
        return self.recipient_type == "group"

    @property
    def recipient_number(self) -> str:
        """The phone number the message reached: the participant's in a group (its market, §4.1)."""
        return self.recipient_participant_id if self.recipient_participant_id is not None else self.recipient_id

    @property
    def timestamp_utc(self) -> datetime:
        """`timestamp` as a UTC datetime."""
        return unix_seconds_to_utc(self.timestamp)


class Status(ContractModel, StatusReading):
    """Meta's status item (`entry[].changes[].value.statuses[]`)."""

    id: MessageId = Field(description="The wamid of the message; a message is charged at most once per id.")
    status: Literal["sent", "delivered", "read", "played", "failed"] = Field(
        description="The delivery state reported; `played` is a voice message played for the first time.")
    timestamp: UnixSeconds = Field(description="When the state was reached, UNIX seconds as a string.")
    # Declared before the recipient fields: their validators read it.
    recipient_type: Literal["individual", "group"] | None = Field(
        default=None, exclude_if=absent_when_none,
        description="`group` for a message sent to a WhatsApp group; absent or `individual` otherwise.")
    # Personal data (§4.1): kept out of repr/str so that it never reaches a log line.
    recipient_id: GroupOrRecipientId = Field(
        repr=False, description="The recipient's phone number, E.164 without `+` (personal data); the "
        "group's id when `recipient_type` is `group`.")
    recipient_participant_id: RecipientId | None = Field(
        default=None, repr=False, exclude_if=absent_when_none, validate_default=True,
        description="In a group: the participant this status is about, E.164 without `+` (personal data); "
        "required when `recipient_type` is `group`.")
    # Absent from most statuses since Graph API v24 (Meta sends it in free-entry-point windows).
    conversation: Conversation | None = Field(default=None, description="The conversation, when Meta sends one.")
    pricing: Pricing | None = Field(default=None, description="Pricing, on some or all statuses of a message.")

    @field_validator("recipient_id")
    @classmethod
    def _a_number_unless_a_group(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("recipient_type") != "group" and not _E164.fullmatch(value):
            # The value is not repeated: it may be a phone number.
            raise PydanticCustomError(
                "recipient_id", "must be a phone number, E.164 without + (5 to 20 digits), unless "
                "recipient_type is group")
        return value

    @field_validator("recipient_participant_id")
    @classmethod
    def _required_in_a_group(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("recipient_type") == "group":
            raise PydanticCustomError("missing", "Field required when recipient_type is group")
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Meta adds fields over time, some of them personal, so unknown fields are left out of
        # repr/str too.
        for name, value in super().__repr_args__():
            if name in type(self).model_fields:
                yield name, value


class MessageStatus(ContractModel):
    """A status webhook item as forwarded by the messaging platform."""

    channel_id: Id = Field(description="The channel (business phone number) the message was sent from; the key.")
    waba_id: Id | None = Field(default=None, description="The WhatsApp Business Account id.")
    phone_number_id: Id | None = Field(default=None, description="Meta's id of the business phone number.")
    received_at: UtcDateTime = Field(description="When the messaging platform received the webhook.")
    status: Status = Field(description="Meta's status object, unchanged.")
