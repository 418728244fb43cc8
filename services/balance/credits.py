"""Credit notes settled to a balance (`billing.internal.balance-credits.v1`, from invoicing).

Each credit is one ledger entry of kind `credit` under the credit note's id
(UNIQUE), so a record read twice credits once. It is booked to the earliest
open month, shows in that month's closing as `credits`, and announces every
crossing it causes (a depleted balance credited above zero is restored), as a
payment does.
"""

from collections.abc import Sequence
from datetime import datetime

from shared.contracts import BalanceCredit, ErrorCode
from shared.dead_letters import Accepted, Rejected

from .domain.booking import earliest_open
from .domain.ledger import Entry
from .ports import UnitOfWork
from .service import move, spec_of


async def apply_credits(uow: UnitOfWork, accepted: Sequence[Accepted], now: datetime) -> list[Rejected]:
    """Credit a batch of credit notes to their balances; a currency other than the balance's is refused."""
    if not accepted:
        return []
    refused: list[Rejected] = []
    async with uow() as store:
        last_closed = await store.last_closed()
        credits: list[BalanceCredit] = [a.message for a in accepted]
        await store.open_balances(list({spec_of(c).owner_id: spec_of(c) for c in credits}.values()))
        states = await store.lock_balances({c.balance.owner_id for c in credits})
        entries: list[Entry] = []
        for a, c in zip(accepted, credits, strict=True):
            state = states[c.balance.owner_id]
            if c.currency != state.currency:
                refused.append(Rejected(a.record, ErrorCode.CURRENCY_MISMATCH,
                                        f"currency: the balance is in {state.currency}, not {c.currency}"))
                continue
            entries.append(Entry("credit", c.credit_id, c.balance.owner_id, c.amount, c.issued_at,
                                 earliest_open(c.issued_at, last_closed), c.balance.channel_id, c.client_id))
        written = await store.write_entries(entries)
        await store.emit(await move(store, states, written, now))
    return refused
