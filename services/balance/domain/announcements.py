"""The balance events of one change, as contract messages with stable ids (CONTRACT.md §3.6).

Ids are derived from the balance and a per-balance counter of events, so a
re-emitted event keeps its `event_id` and a top-up request its `request_id`.
"""

import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from shared.contracts import (Account, BalanceDepleted, BalanceEvent, BalanceLow, BalanceMoved, BalanceRestored,
                              TopupRequest, TopupRequested)
from shared.money import plain

from .crossings import Crossing
from .ledger import BalanceState

_IDS = uuid.UUID("6f1c54a2-8d8e-4c57-9a55-0d5f1b3e0c11")


def account_of(balance: BalanceState) -> Account:
    if balance.kind == "partner":
        return Account(partner_id=balance.owner_id)
    return Account(channel_id=balance.owner_id)


def announce(balance: BalanceState, events: list[Crossing], after: Decimal, at: datetime,
             channel_ids: list[str]) -> tuple[list[BalanceEvent], BalanceState]:
    """The events, and the balance with its counter (and pending top-up) moved on."""
    out: list[BalanceEvent] = []
    seq = balance.events_issued
    topup_id, topup_at = balance.topup_request_id, balance.topup_requested_at
    for crossing in events:
        seq += 1
        common = {"type": crossing.value, "event_id": str(uuid.uuid5(_IDS, f"{balance.owner_id}/{seq}")),
                  "balance": account_of(balance), "balance_amount": plain(after),
                  "currency": balance.currency, "at": at}
        if crossing is Crossing.LOW:
            assert balance.renewal is not None
            out.append(BalanceLow(**common, threshold=plain(balance.renewal.threshold)))
        elif crossing is Crossing.TOPUP:
            assert balance.renewal is not None
            topup_id = "tr_" + uuid.uuid5(_IDS, f"{balance.owner_id}/topup/{seq}").hex
            topup_at = at
            out.append(TopupRequested(**common, request_id=topup_id, amount=plain(balance.renewal.amount)))
        elif crossing is Crossing.DEPLETED:
            out.append(BalanceDepleted(**common, channel_ids=channel_ids))
        else:
            out.append(BalanceRestored(**common, channel_ids=channel_ids))
    return out, replace(balance, amount=after, events_issued=seq, topup_request_id=topup_id,
                        topup_requested_at=topup_at)


def moved(balance: BalanceState, version: int, at: datetime) -> BalanceMoved:
    """The balance's amount after a transaction moved it, for readers that keep the newest version."""
    return BalanceMoved(move_id=f"{balance.owner_id}/{version}", balance=account_of(balance),
                        partner_id=balance.partner_id, client_id=balance.client_id,
                        billing_model=balance.billing_model, currency=balance.currency,
                        amount=plain(balance.amount), version=version, updated_at=at)


def requested(balance: BalanceState, request: TopupRequest, at: datetime) -> TopupRequested:
    """A top-up someone asked for, announced to the payment provider under the request's own id."""
    return TopupRequested(type="topup.requested", event_id=str(uuid.uuid5(_IDS, f"request/{request.request_id}")),
                          balance=account_of(balance), balance_amount=plain(balance.amount),
                          currency=balance.currency, at=at, request_id=request.request_id,
                          amount=plain(request.amount))
