"""When a message is charged (CONTRACT.md §4.1), as a fold over its statuses.

A message's statuses arrive in any order and any number of times. Each one is
folded into the message's state; the fold is idempotent and, apart from the
billing time, order-independent, so a redelivered batch changes nothing.
Once a state is *settled* (charged, free, failed, …) nothing changes it.

A "message" here is the charged unit: a 1:1 message, or one participant of a
group message (`domain/participants.py`); `message_id` is the unit's key.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    PENDING = "pending"          # not yet charged: no delivery evidence, no pricing, or channel unknown
    CHARGED = "charged"          # priced and debited
    FREE = "free"                # delivered, counted, not charged (free type, or a later CBP message)
    FAILED = "failed"            # reported `failed`: never charged
    NO_RATE = "no_rate"          # delivered and billable, but no rate: dead-lettered
    UNKNOWN_CHANNEL = "unknown_channel"  # its channel stayed unknown too long: dead-lettered


# A dead-lettered message is not settled for ever: a status of it replayed
# from the DLQ after the fix (a rate card published, the channel added) is
# evaluated again.
SETTLED = frozenset({Outcome.CHARGED, Outcome.FREE, Outcome.FAILED})
# `played` (a voice message played) implies delivery, as `read` does.
DELIVERY_EVIDENCE = frozenset({"delivered", "read", "played"})


# Value objects made for every status (PricingInfo, Observation) and every changed message (MessageState):
# never mutated, but not `frozen`, whose __init__ sets each field through object.__setattr__ and costs
# five times as much (docs/benchmarks.md, "Latest run": the change).
@dataclass(slots=True)
class PricingInfo:
    pricing_model: str
    category: str
    type: str | None
    billable: bool | None

    @property
    def is_free(self) -> bool:
        """`pricing.type` other than `regular`, or `billable: false` without a type. Meta deprecates
        `billable`: with neither, the message is regular and its category's rate decides."""
        if self.type is not None:
            return self.type != "regular"
        return self.billable is False


@dataclass(slots=True)
class Observation:
    """What one status says about its message, with the phone number already reduced to a country."""

    message_id: str
    channel_id: str
    status: str
    at: datetime
    country: str | None
    pricing: PricingInfo | None
    conversation_id: str | None


@dataclass(slots=True)
class MessageState:
    message_id: str
    channel_id: str
    outcome: Outcome = Outcome.PENDING
    country: str | None = None
    pricing: PricingInfo | None = None
    conversation_id: str | None = None
    delivered_at: datetime | None = None
    failed: bool = False

    @property
    def settled(self) -> bool:
        return self.outcome in SETTLED

    @property
    def ready(self) -> bool:
        """Delivered, priced, and not failed: it can be decided once its channel is known."""
        return (not self.settled and not self.failed and self.delivered_at is not None
                and self.pricing is not None)


def observe(state: MessageState | None, obs: Observation) -> MessageState:
    """Fold one status into the message's state."""
    if state is None:
        state = MessageState(obs.message_id, obs.channel_id)
    if state.settled:
        return state
    pricing = state.pricing
    delivered_at = state.delivered_at
    if obs.status in DELIVERY_EVIDENCE:
        # The delivery status' own pricing is the verdict that counts; an earlier
        # status' pricing is remembered for when delivery comes without one.
        pricing = obs.pricing or pricing
        if delivered_at is None or obs.at < delivered_at:
            delivered_at = obs.at
    elif pricing is None:
        pricing = obs.pricing
    failed = state.failed or obs.status == "failed"
    # Not settled: pending, or dead-lettered (no_rate, unknown_channel). A new status of a
    # dead-lettered message (its record replayed from the DLQ after the fix) makes it pending
    # again, so that it is evaluated again even when the status itself adds nothing new.
    outcome = Outcome.FAILED if failed else Outcome.PENDING
    # The constructor, not dataclasses.replace: this runs for every status and replace is slow.
    return MessageState(state.message_id, state.channel_id, outcome, state.country or obs.country, pricing,
                        state.conversation_id or obs.conversation_id, delivered_at, failed)


def fold(states: dict[str, MessageState], observations: list[Observation]) -> dict[str, MessageState]:
    """Fold a batch of observations into the states of their messages; returns the changed ones."""
    changed: dict[str, MessageState] = {}
    for obs in observations:
        before = changed.get(obs.message_id) or states.get(obs.message_id)
        after = observe(before, obs)
        if after != before:
            changed[obs.message_id] = after
    return changed
