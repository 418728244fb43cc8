"""Which balance events a change of a balance announces (CONTRACT.md §3.6).

Crossings are judged from the balance before and after a change (one batch's
movements of one balance, or one payment), so a change that crosses both the
auto-renewal threshold and zero announces both, and a balance that merely stays
low or stays depleted announces nothing again.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Crossing(StrEnum):
    LOW = "balance.low"
    TOPUP = "topup.requested"
    DEPLETED = "balance.depleted"
    RESTORED = "balance.restored"


@dataclass(frozen=True, slots=True)
class Renewal:
    """Auto-renewal settings of a balance: the partner's (Partner-Paid) or the channel's (Direct-Paid)."""

    enabled: bool
    threshold: Decimal
    amount: Decimal


def crossings(before: Decimal, after: Decimal, renewal: Renewal | None, topup_pending: bool) -> list[Crossing]:
    """The events of one change, in the order they happen while the balance falls or rises."""
    out: list[Crossing] = []
    if renewal is not None and before >= renewal.threshold > after:
        out.append(Crossing.LOW)
        # A top-up already requested and not yet paid is not requested again.
        if renewal.enabled and renewal.amount > 0 and not topup_pending:
            out.append(Crossing.TOPUP)
    if before > 0 >= after:
        out.append(Crossing.DEPLETED)
    if before <= 0 < after:
        out.append(Crossing.RESTORED)
    return out
