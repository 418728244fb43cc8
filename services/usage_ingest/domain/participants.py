"""Group messages (CONTRACT.md §3.1, §4.1): each participant of a group message is a message of its own.

Meta reports a group message's statuses per participant under one `status.id`
and charges it once per participant it was delivered to. So the unit every
rule applies to (dedup, delivery evidence, pricing, holds, the debit) is
(`status.id`, participant). The participant's number is personal data: the
unit's key carries a keyed hash of it (HMAC-SHA256), never the number. The key
must be the same in every instance and for as long as statuses of a message
can arrive, or one participant would become two units (docs/decisions.md).
"""

import hashlib
import hmac

# 128 bits of the HMAC: collisions between the participants of one message are out of reach.
_KEY_HEX_CHARS = 32


class ParticipantKeys:
    """Turns a status into the key of its charged unit."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the participant key secret must not be empty")
        self._secret = secret

    def __repr__(self) -> str:
        return "ParticipantKeys(secret=**********)"

    def participant_key(self, number: str) -> str:
        """A stable pseudonym of a participant's number: the same number always gives the same key."""
        return hmac.new(self._secret, number.encode(), hashlib.sha256).hexdigest()[:_KEY_HEX_CHARS]

    def unit_of(self, message_id: str, participant: str | None) -> str:
        """`status.id` for a 1:1 message; `<status.id>/<participant key>` for a participant of a group."""
        if participant is None:
            return message_id
        return f"{message_id}/{self.participant_key(participant)}"
