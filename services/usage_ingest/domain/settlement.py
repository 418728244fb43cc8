"""Settling a ready message: free, charged at its rate (its volume-tier band), or refused for want of a rate."""

from enum import StrEnum

from shared.contracts import LightPricedUsage

from .accounts import ChannelAccount
from .charging import MessageState
from .pricing import Quote, RateBook
from .tiers import Charge, TierKey


class Verdict(StrEnum):
    WAIT = "wait"                # not delivered or not priced yet
    HOLD = "hold"                # ready, but its channel (or the channel's partner) is not known yet
    FREE = "free"                # a free type: counted, not charged
    FIRST_OF_CONVERSATION = "cbp"  # CBP: charged only if no other message of its conversation was
    CHARGE = "charge"


def verdict(state: MessageState, account: ChannelAccount | None) -> Verdict:
    if not state.ready:
        return Verdict.WAIT
    if account is None:
        return Verdict.HOLD
    assert state.pricing is not None
    if state.pricing.is_free:
        return Verdict.FREE
    if state.pricing.pricing_model == "CBP" and state.conversation_id:
        return Verdict.FIRST_OF_CONVERSATION
    # A CBP message without a conversation id cannot be matched to others of
    # its conversation: it is charged on its own, as PMP is.
    return Verdict.CHARGE


def quote(state: MessageState, account: ChannelAccount, book: RateBook) -> Quote | None:
    """The rate card's answer for a message to charge; None when the card in force has no rate for it."""
    assert state.pricing is not None and state.delivered_at is not None
    return book.quote(account.currency, state.delivered_at.date(), state.country, state.pricing.category)


def charge_of(state: MessageState, account: ChannelAccount, q: Quote) -> Charge:
    """The message's place in its volume count: (portfolio, market, rate's category, usage month)."""
    at = state.delivered_at
    assert at is not None
    # Formatted by hand: strftime costs several times more, for every charged message.
    key = TierKey(account.portfolio_id, q.market, q.category, f"{at.year:04d}-{at.month:02d}")
    return Charge(key, at, state.message_id)


def price(state: MessageState, account: ChannelAccount, q: Quote, n: int) -> LightPricedUsage:
    """The priced usage of the n-th charged message of its volume count."""
    assert state.pricing is not None and state.delivered_at is not None
    billed_at = state.delivered_at
    rate, tier_from = q.for_nth(n)
    # Not validated as a model: every value comes from a checked status, the directory and the rate book
    # (tests/unit/usage_ingest validate every record their fake outbox receives).
    return LightPricedUsage(
        usage_id=state.message_id, balance=account.debited, partner_id=account.partner_id,
        client_id=account.client_id, channel_id=account.channel_id, billing_model=account.billing_model,
        currency=account.currency, category=state.pricing.category,
        pricing_model=state.pricing.pricing_model, conversation_id=state.conversation_id,
        country=state.country, market=q.market, ratecard_id=q.ratecard_id, rate=rate, tier_from=tier_from,
        amount=rate, billed_at=billed_at, usage_month=f"{billed_at.year:04d}-{billed_at.month:02d}",
    )


def no_rate_reason(state: MessageState, account: ChannelAccount) -> str:
    assert state.pricing is not None and state.delivered_at is not None
    return (f"no {account.currency} rate for category {state.pricing.category} to "
            f"{state.country or 'an unknown country'} on {state.delivered_at.date().isoformat()}")
