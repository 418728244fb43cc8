"""Who pays for a channel's usage, and which directory changes are refused (§1, §3.2, §4.1)."""

from dataclasses import dataclass

from shared.contracts import Account, ErrorCode, LightAccount, PartnerUpserted


@dataclass(frozen=True, slots=True)
class ChannelAccount:
    """A channel as billing sees it: its owners, model, currency and business portfolio."""

    channel_id: str
    client_id: str
    partner_id: str
    billing_model: str
    currency: str
    business_portfolio_id: str | None = None

    @property
    def portfolio_id(self) -> str:
        """Whose volume tiers its messages count in: the client's business portfolio, else the client."""
        return self.business_portfolio_id or self.client_id

    @property
    def debited(self) -> LightAccount:
        """Partner-Paid usage debits the partner's shared balance; Direct-Paid, the channel's own."""
        if self.billing_model == "partner_paid":
            return LightAccount(partner_id=self.partner_id)
        return LightAccount(channel_id=self.channel_id)

    @property
    def balance(self) -> Account:
        """`debited` as the contract's model."""
        return Account(partner_id=self.debited.partner_id, channel_id=self.debited.channel_id)


@dataclass(frozen=True, slots=True)
class KnownPartner:
    billing_model: str
    currency: str


def refusal_of_partner_change(known: KnownPartner | None, update: PartnerUpserted) -> tuple[ErrorCode, str] | None:
    """A repeated `partner.upserted` may change names, address, plan and auto-renewal, never the
    billing model or the currency: those are fixed when the account is created."""
    if known is None:
        return None
    if update.billing_model != known.billing_model:
        return (ErrorCode.BILLING_MODEL_CHANGE,
                f"billing_model: {update.partner_id} is {known.billing_model}, cannot become {update.billing_model}")
    if update.currency != known.currency:
        return (ErrorCode.CURRENCY_MISMATCH,
                f"currency: {update.partner_id} bills in {known.currency}, cannot become {update.currency}")
    return None
