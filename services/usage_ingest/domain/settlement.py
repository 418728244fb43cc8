"""Settling a ready message: free, charged at its rate, or refused for want of a rate."""

from enum import StrEnum

from shared.contracts import PricedUsage

from .accounts import ChannelAccount
from .charging import MessageState
from .pricing import RateBook


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


def price(state: MessageState, account: ChannelAccount, book: RateBook) -> PricedUsage | None:
    """The priced usage of a message to charge; None when the rate card in force has no rate."""
    assert state.pricing is not None and state.delivered_at is not None
    billed_at = state.delivered_at
    quote = book.quote(account.currency, billed_at.date(), state.country, state.pricing.category)
    if quote is None:
        return None
    return PricedUsage(
        usage_id=state.message_id, balance=account.balance, partner_id=account.partner_id,
        client_id=account.client_id, channel_id=account.channel_id, billing_model=account.billing_model,
        currency=account.currency, category=state.pricing.category,
        pricing_model=state.pricing.pricing_model, conversation_id=state.conversation_id,
        country=state.country, market=quote.market, ratecard_id=quote.ratecard_id, rate=quote.rate,
        amount=quote.rate, billed_at=billed_at, usage_month=billed_at.strftime("%Y-%m"),
    )


def no_rate_reason(state: MessageState, account: ChannelAccount) -> str:
    assert state.pricing is not None and state.delivered_at is not None
    return (f"no {account.currency} rate for category {state.pricing.category} to "
            f"{state.country or 'an unknown country'} on {state.delivered_at.date().isoformat()}")
