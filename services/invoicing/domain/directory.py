"""The directory as invoicing sees it: who is billed, for what, from when."""

from dataclasses import dataclass
from datetime import datetime

from shared.contracts import Recipient


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    name: str
    billing_model: str
    currency: str
    plan: str
    created_at: datetime
    country: str
    vat_id: str | None

    def recipient(self) -> Recipient:
        return Recipient(type="partner", id=self.partner_id, name=self.name, country=self.country,
                         vat_id=self.vat_id)


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    partner_id: str
    name: str
    country: str
    vat_id: str | None

    def recipient(self) -> Recipient:
        return Recipient(type="client", id=self.client_id, name=self.name, country=self.country,
                         vat_id=self.vat_id)


@dataclass(frozen=True, slots=True)
class Channel:
    channel_id: str
    partner_id: str
    client_id: str
    license: str
    billing_started_at: datetime
    cancelled_at: datetime | None
