"""`wa.message-status.v1` (CONTRACT.md §3.1): one WhatsApp message status.

The `status` object is Meta's webhook item, forwarded unchanged, so only what
billing reads is declared; the rest (`errors`, `biz_opaque_callback_data`, ...)
travels along as extra fields.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from shared.contracts.base import Category, ContractModel, Id, UnixSeconds, UtcDateTime, unix_seconds_to_utc

# wamids are base64 blobs whose length Meta does not promise; 128 would be tight.
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=256)]

# E.164 without "+": up to 15 digits today; 5..20 leaves room without accepting junk.
RecipientId = Annotated[str, StringConstraints(pattern=r"^[0-9]{5,20}$")]


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

    billable: Annotated[bool, Field(strict=True)] = Field(description="Whether Meta bills this message.")
    pricing_model: Literal["PMP", "CBP"] = Field(
        description="`PMP` per message, `CBP` per conversation (legacy)."
    )
    category: Category = Field(description="The pricing category; with the market it selects the rate.")
    type: Literal["regular", "free_customer_service", "free_entry_point", "free_group_customer_service"] | None = (
        Field(default=None, description="Anything other than `regular` is free.")
    )


class Status(ContractModel):
    """Meta's status item (`entry[].changes[].value.statuses[]`)."""

    id: MessageId = Field(description="The wamid of the message; a message is charged at most once per id.")
    status: Literal["sent", "delivered", "read", "failed"] = Field(description="The delivery state reported.")
    timestamp: UnixSeconds = Field(description="When the state was reached, UNIX seconds as a string.")
    # Personal data (§4.1): kept out of repr/str so that it never reaches a log line.
    recipient_id: RecipientId = Field(
        repr=False, description="The recipient's phone number, E.164 without `+`; personal data."
    )
    conversation: Conversation | None = Field(default=None, description="The conversation, when Meta sends one.")
    pricing: Pricing | None = Field(default=None, description="Pricing, on some or all statuses of a message.")

    @property
    def timestamp_utc(self) -> datetime:
        """`timestamp` as a UTC datetime."""
        return unix_seconds_to_utc(self.timestamp)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Meta adds fields over time, some personal (e.g. `recipient_participant_id`
        # in groups), so unknown fields are left out of repr/str too.
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
