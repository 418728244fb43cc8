"""The API's answers as pydantic models: they are the OpenAPI document's schemas (docs/openapi/portal.json)."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts import Account, Invoice
from shared.contracts.base import Amount


class ErrorBody(BaseModel):
    code: str = Field(description="A stable, specific code, e.g. `invalid_cursor`, `not_found`.")
    message: str = Field(description="What is wrong, for people.")


class Error(BaseModel):
    """Every error (CONTRACT.md §6)."""

    error: ErrorBody


class Balance(BaseModel):
    """A credit balance (§6): a Partner-Paid partner's shared one, or a Direct-Paid channel's."""

    owner: Account = Field(description="The balance, named as in payments' `account` (§3.4).")
    currency: Literal["EUR", "USD"]
    amount: Amount = Field(description="The balance now; may be negative.")
    state: Literal["active", "depleted"] = Field(description="`depleted` at zero or less: sending is paused.")
    updated_at: datetime | None = Field(description="The time of its latest movement; null if none yet.")
    partner_id: str = Field(description="The balance's partner.")
    client_id: str | None = Field(description="The channel's client, for a Direct-Paid channel balance.")
    billing_model: Literal["partner_paid", "direct_paid"]


class BalanceList(BaseModel):
    data: list[Balance]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
    as_of: datetime | None = Field(description="The time of the newest record the read model has applied.")


class Forecast(BaseModel):
    """When a balance runs out at the pace of the last 7 days."""

    owner: Account
    currency: Literal["EUR", "USD"]
    amount: Amount
    spend_per_day: Amount | None = Field(description="Usage of the 7 UTC days ending today, divided by 7; null "
                                         "without spend.")
    zero_on: date | None = Field(description="The day the balance reaches zero at that pace; null without spend.")
    window_start: date
    window_end: date
    as_of: datetime | None


class InvoiceList(BaseModel):
    data: list[Invoice] = Field(description="§3.7 messages, newest first, byte for byte as issued.")
    next_cursor: str | None
    as_of: datetime | None


class UsageRow(BaseModel):
    """Charged and free messages of one channel, category and UTC day (§6)."""

    channel_id: str
    client_id: str
    category: str
    day: date
    charged_messages: int
    charged_amount: Amount = Field(description="What the charged messages cost, exactly.")
    free_messages: int
    currency: Literal["EUR", "USD"]


class UsageList(BaseModel):
    data: list[UsageRow]
    next_cursor: str | None
    as_of: datetime | None


class TopupRequestIn(BaseModel):
    amount: str = Field(description="How much to charge, e.g. `100.00` (at most 2 decimals).", max_length=40,
                        examples=["100.00"])


class TopupRequestOut(BaseModel):
    request_id: str = Field(description="Echoed by the payment provider's payment as `topup_request_id`.")
    owner: Account
    amount: Amount
    currency: Literal["EUR", "USD"]
    requested_at: datetime
    requested_by: str


class MarkupIn(BaseModel):
    percent: str = Field(description="The partner's markup for the category, 0 to 1000 %, e.g. `15` or `12.5`.",
                         max_length=20, examples=["15"])


class Markups(BaseModel):
    partner_id: str
    markups: dict[str, Amount] = Field(description="Category → markup in percent; unset categories are 0.")


class StatementLineOut(BaseModel):
    channel_id: str
    category: str
    messages: int
    cost: Amount
    markup_percent: Amount
    price: Amount


class StatementOut(BaseModel):
    """A partner's re-billing statement of one client and month."""

    partner_id: str
    client_id: str
    client_name: str
    month: str
    currency: Literal["EUR", "USD"]
    lines: list[StatementLineOut]
    cost: Amount
    price: Amount
    as_of: datetime | None


class Me(BaseModel):
    kind: Literal["partner", "client", "finance"]
    id: str | None
