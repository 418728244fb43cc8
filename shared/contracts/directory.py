"""`billing.directory.v1` (CONTRACT.md §3.2): partners, clients and channels from the Hub.

Only the shape is checked here. The rules that need state (a repeat of
`partner.upserted` must not change `billing_model` or `currency`) belong to
the directory consumer, which dead-letters with `billing_model_change`.
"""

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.base import (Amount, BillingModel, ContractModel, CountryCode, Currency, Id, Name, UtcDateTime,
                                   absent_when_none)

Plan = Literal["growth", "premium"]
License = Literal["regular", "premium", "high_throughput"]


class BillingAddress(ContractModel):
    """What decides the tax treatment of invoices (§4.3)."""

    country: CountryCode = Field(description="ISO 3166-1 alpha-2 country of the billing address.")
    vat_id: Id | None = Field(
        default=None, description="VAT id; with an EU country other than DE it means reverse charge."
    )


class AutoRenewal(ContractModel):
    """Top up the balance automatically when it falls below a threshold."""

    enabled: Annotated[bool, Field(strict=True)] = Field(description="Whether a top-up is requested at all.")
    threshold: Amount = Field(description="Falling below this announces `balance.low`.")
    amount: Amount = Field(description="How much a `topup.requested` asks for.")


class PartnerUpserted(ContractModel):
    """A partner was created or changed; repeats carry the whole current state."""

    type: Literal["partner.upserted"] = Field(description="Event type.")
    partner_id: Id = Field(description="The partner; the key.")
    name: Name = Field(description="Legal name, as printed on invoices.")
    billing_model: BillingModel = Field(description="Who pays; fixed when the partner is created.")
    currency: Currency = Field(description="Currency of everything under the partner; fixed at creation.")
    plan: Plan = Field(description="The partner plan billed monthly.")
    created_at: UtcDateTime = Field(description="When the partner was created; the plan is billed from then.")
    billing_address: BillingAddress = Field(description="The partner's billing address.")
    auto_renewal: AutoRenewal | None = Field(
        default=None, description="Auto-renewal of the shared balance (Partner-Paid); absent means disabled."
    )


class ClientUpserted(ContractModel):
    """A client of a partner was created or changed."""

    type: Literal["client.upserted"] = Field(description="Event type.")
    client_id: Id = Field(description="The client.")
    partner_id: Id = Field(description="The client's partner; the key.")
    name: Name = Field(description="Legal name, as printed on Direct-Paid invoices.")
    billing_address: BillingAddress = Field(description="The client's billing address.")
    business_portfolio_id: Id | None = Field(
        default=None, exclude_if=absent_when_none,
        description="The client's Meta business portfolio (since 1.1): clients sharing one count volume tiers "
        "together; absent or null, the client is a portfolio of its own.")


class ChannelAdded(ContractModel):
    """A channel (one business phone number) starts being billed."""

    type: Literal["channel.added"] = Field(description="Event type.")
    channel_id: Id = Field(description="The channel.")
    client_id: Id = Field(description="The client that owns the channel.")
    partner_id: Id = Field(description="The client's partner; the key.")
    waba_id: Id | None = Field(default=None, description="The WhatsApp Business Account id.")
    phone_number_id: Id | None = Field(default=None, description="Meta's id of the business phone number.")
    phone_number: Id | None = Field(default=None, description="The business phone number, E.164.")
    license: License = Field(description="The license billed per month for this channel.")
    billing_started_at: UtcDateTime = Field(description="When license billing starts; the start month is prorated.")
    auto_renewal: AutoRenewal | None = Field(
        default=None, description="Auto-renewal of the channel's own balance; only meaningful for Direct-Paid."
    )


class ChannelCancelled(ContractModel):
    """A channel stops; it is billed through the end of the month it was cancelled in."""

    type: Literal["channel.cancelled"] = Field(description="Event type.")
    channel_id: Id = Field(description="The channel.")
    partner_id: Id = Field(description="The channel's partner; the key.")
    cancelled_at: UtcDateTime = Field(description="When the channel was cancelled.")


DirectoryEvent = Annotated[
    PartnerUpserted | ClientUpserted | ChannelAdded | ChannelCancelled,
    Field(discriminator="type"),
]
"""Any message of `billing.directory.v1`, told apart by `type`."""
