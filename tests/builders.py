"""Builders of contract messages for tests: a sentence per message, defaults for the rest."""

from datetime import UTC, datetime
from typing import Any

DE_NUMBER = "4915112345678"
AT_NUMBER = "436641234567"
US_NUMBER = "12125551234"
FR_NUMBER = "33612345678"


def ts(text: str) -> str:
    """UNIX seconds (as Meta writes them) of an RFC 3339 UTC time."""
    return str(int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()))


def pricing(category: str = "marketing", type_: str | None = "regular", billable: bool | None = True,
            model: str = "PMP") -> dict[str, Any]:
    """Meta's `pricing`; `billable=None` leaves it out, as Meta does since it deprecated it."""
    out: dict[str, Any] = {"pricing_model": model, "category": category}
    if billable is not None:
        out["billable"] = billable
    if type_ is not None:
        out["type"] = type_
    return out


def status(message_id: str, channel_id: str, state: str, at: str, recipient: str = DE_NUMBER,
           price: dict[str, Any] | None = None, conversation: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": message_id, "status": state, "timestamp": ts(at), "recipient_id": recipient}
    if price is not None:
        body["pricing"] = price
    if conversation is not None:
        body["conversation"] = {"id": conversation, "origin": {"type": "marketing"}}
    return {"channel_id": channel_id, "waba_id": "102290129340398", "phone_number_id": "106540352242922",
            "received_at": at, "status": body}


def group_status(message_id: str, channel_id: str, state: str, at: str, participant: str,
                 group: str = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyODM4MjAZD",
                 price: dict[str, Any] | None = None) -> dict[str, Any]:
    """One participant's status of a message sent to a WhatsApp group (§3.1, 1.1)."""
    out = status(message_id, channel_id, state, at, group, price)
    out["status"].update(recipient_type="group", recipient_participant_id=participant)
    return out


def partner(partner_id: str, model: str = "partner_paid", currency: str = "EUR", **extra: Any) -> dict[str, Any]:
    return {"type": "partner.upserted", "partner_id": partner_id, "name": f"Partner {partner_id}",
            "billing_model": model, "currency": currency, "plan": "growth",
            "created_at": "2026-09-01T00:00:00Z", "billing_address": {"country": "DE", "vat_id": None},
            **extra}


def client(client_id: str, partner_id: str, portfolio: str | None = None) -> dict[str, Any]:
    out = {"type": "client.upserted", "client_id": client_id, "partner_id": partner_id,
           "name": f"Client {client_id}", "billing_address": {"country": "AT", "vat_id": None}}
    if portfolio is not None:
        out["business_portfolio_id"] = portfolio
    return out


def channel(channel_id: str, client_id: str, partner_id: str, started: str = "2026-10-01T00:00:00Z",
            license_: str = "regular") -> dict[str, Any]:
    return {"type": "channel.added", "channel_id": channel_id, "client_id": client_id,
            "partner_id": partner_id, "license": license_, "billing_started_at": started}


def ratecard(ratecard_id: str, currency: str, effective_from: str, rates: dict[tuple[str, str], str],
             markets: dict[str, str] | None = None, default_market: str = "Other",
             tiers: dict[tuple[str, str], dict[int, str]] | None = None) -> dict[str, Any]:
    """`tiers`: (market, category) → {from: rate}."""
    card = {"ratecard_id": ratecard_id, "currency": currency, "effective_from": effective_from,
            "markets": markets if markets is not None else {"DE": "Germany", "AT": "Rest of Western Europe"},
            "default_market": default_market,
            "rates": [{"market": m, "category": c, "rate": r} for (m, c), r in rates.items()]}
    if tiers:
        card["tiers"] = [{"market": m, "category": c, "from": start, "rate": r}
                         for (m, c), bands in tiers.items() for start, r in bands.items()]
    return card


# The rate cards every integration test shares (rate cards are global: same content everywhere).
EUR_CARD = ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {
    ("Germany", "marketing"): "0.1131", ("Germany", "utility"): "0.0456",
    ("Germany", "authentication"): "0.0636", ("Rest of Western Europe", "marketing"): "0.0592",
    ("Other", "marketing"): "0.0604", ("Other", "utility"): "0.0300"})
USD_CARD = ratecard("test-2026-10-USD", "USD", "2026-10-01", {
    ("Germany", "marketing"): "0.1365", ("Germany", "utility"): "0.0550",
    ("Rest of Western Europe", "marketing"): "0.0714", ("Other", "marketing"): "0.0730",
    ("Other", "utility"): "0.0360"})
