"""`billing directory`: add or change partners, clients and channels, cancel a channel.

Each command publishes the event the Hub would publish to `billing.directory.v1`
(key: the partner). A change repeats the whole current state, as the contract
wants: options left out keep what the services know (read from their tables),
so `billing directory partner acmePA --plan premium` changes only the plan.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import typer

from shared.money import plain
from shared.contracts import ChannelAdded, ChannelCancelled, ClientUpserted, PartnerUpserted
from shared.topics import DIRECTORY

from .common import JsonOption, err, fail, fetch, publish_models, run, settings, validated

app = typer.Typer(help="Partners, clients and channels (published to billing.directory.v1 as the Hub would).",
                  no_args_is_help=True)

OPTION_NAMES = {"name": "--name", "billing_model": "--model", "currency": "--currency", "plan": "--plan",
                "created_at": "--created-at", "billing_address.country": "--country",
                "billing_address.vat_id": "--vat-id", "auto_renewal.threshold": "--renewal-threshold",
                "auto_renewal.amount": "--renewal-amount", "partner_id": "--partner", "client_id": "--client",
                "license": "--license", "billing_started_at": "--starts", "cancelled_at": "--at",
                "business_portfolio_id": "--portfolio"}


def when(value: str | None) -> str | None:
    """RFC 3339 as given; a bare date means midnight UTC; `now` is now."""
    if value is None:
        return None
    if value == "now":
        return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"{value}T00:00:00Z" if len(value) == 10 else value


async def _current(sql: str, key: str) -> dict[str, Any]:
    try:
        rows = await fetch(settings(), sql, key)
    except asyncpg.UndefinedTableError:  # the services never ran against this database
        return {}
    except OSError as exc:
        err.print(f"[yellow]warning:[/] cannot read what the services know ({exc}); only the options given "
                  "are published", highlight=False)
        return {}
    return dict(rows[0]) if rows else {}


def _renewal(current: dict[str, Any], enabled: bool | None, threshold: str | None,
             amount: str | None) -> dict[str, Any] | None:
    """The auto-renewal to publish: what was given over what is known; giving values enables a new one."""
    threshold = threshold if threshold is not None else _text(current.get("renewal_threshold"))
    amount = amount if amount is not None else _text(current.get("renewal_amount"))
    if threshold is None and amount is None:
        return None
    if enabled is None:
        enabled = current.get("renewal_enabled") if current.get("renewal_enabled") is not None else True
    return {"enabled": enabled, "threshold": threshold, "amount": amount}


def _text(value: Any) -> Any:
    """A database value as the contract writes it."""
    if isinstance(value, Decimal):
        return format(plain(value), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Without the fields nobody gave, so that a missing one reads `--name: Field required`."""
    return {k: _present(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None}


def _up(value: str | None) -> str | None:
    return value.upper() if value else value


def _pick(given: Any, current: dict[str, Any], field: str) -> Any:
    return given if given is not None else _text(current.get(field)) if field in current else None


@app.command()
def partner(
    partner_id: str = typer.Argument(..., help="The partner id, e.g. acmePA."),
    name: str = typer.Option(None, help="Legal name, as printed on invoices."),
    model: str = typer.Option(None, "--model", help="partner_paid or direct_paid (fixed once created)."),
    currency: str = typer.Option(None, help="EUR or USD (fixed once created)."),
    plan: str = typer.Option(None, help="growth or premium."),
    country: str = typer.Option(None, help="Billing address country, ISO 3166-1 alpha-2 (DE)."),
    vat_id: str = typer.Option(None, "--vat-id", help="VAT id; an empty string removes it."),
    created_at: str = typer.Option(None, "--created-at", help="When the plan is billed from (default: now)."),
    renewal: bool = typer.Option(None, "--renewal/--no-renewal", help="Auto-renewal of the shared balance."),
    renewal_threshold: str = typer.Option(None, "--renewal-threshold", help="Top up below this amount."),
    renewal_amount: str = typer.Option(None, "--renewal-amount", help="How much a top-up asks for."),
    as_json: bool = JsonOption,
) -> None:
    """Add a partner, or change one (options left out keep their current value)."""
    cur = run(_current("SELECT p.name, p.billing_model, p.currency, p.plan, p.created_at, p.country, p.vat_id, "
                       "b.renewal_enabled, b.renewal_threshold, b.renewal_amount FROM invoicing.partners p "
                       "LEFT JOIN balance.partners b USING (partner_id) WHERE p.partner_id = $1", partner_id))
    if cur and model and model != cur["billing_model"]:
        fail(f"{partner_id} is {cur['billing_model']}; the billing model never changes (CONTRACT.md §1)")
    if cur and currency and currency != cur["currency"]:
        fail(f"{partner_id} bills in {cur['currency']}; the currency never changes (CONTRACT.md §1)")
    vat = (vat_id or None) if vat_id is not None else cur.get("vat_id")
    event = validated(PartnerUpserted, _present({
        "type": "partner.upserted", "partner_id": partner_id, "name": _pick(name, cur, "name"),
        "billing_model": _pick(model, cur, "billing_model"), "currency": _pick(_up(currency), cur, "currency"),
        "plan": _pick(plan, cur, "plan"), "created_at": when(created_at) or _pick(None, cur, "created_at")
        or when("now"), "billing_address": {"country": _pick(_up(country), cur, "country"), "vat_id": vat},
        "auto_renewal": _renewal(cur, renewal, renewal_threshold, renewal_amount)}), "partner", OPTION_NAMES)
    publish_models(settings(), DIRECTORY.name, partner_id, event, as_json,
                   f"partner {partner_id} ({'changed' if cur else 'new'})")


@app.command()
def client(
    client_id: str = typer.Argument(..., help="The client id, e.g. bobCL."),
    partner_id: str = typer.Option(None, "--partner", help="The client's partner (kept when changing)."),
    name: str = typer.Option(None, help="Legal name, as printed on Direct-Paid invoices."),
    country: str = typer.Option(None, help="Billing address country (AT)."),
    vat_id: str = typer.Option(None, "--vat-id", help="VAT id; an empty string removes it."),
    portfolio: str = typer.Option(None, "--portfolio", help="Meta business portfolio id: clients sharing one "
                                  "count volume tiers together; an empty string removes it."),
    as_json: bool = JsonOption,
) -> None:
    """Add a client of a partner, or change one."""
    cur = run(_current("SELECT partner_id, name, country, vat_id FROM invoicing.clients WHERE client_id = $1",
                       client_id))
    vat = (vat_id or None) if vat_id is not None else cur.get("vat_id")
    known = run(_current("SELECT business_portfolio_id FROM usage_ingest.clients WHERE client_id = $1", client_id))
    bp = (portfolio or None) if portfolio is not None else known.get("business_portfolio_id")
    event = validated(ClientUpserted, _present({
        "type": "client.upserted", "client_id": client_id, "partner_id": _pick(partner_id, cur, "partner_id"),
        "name": _pick(name, cur, "name"), "business_portfolio_id": bp,
        "billing_address": {"country": _pick(_up(country), cur, "country"), "vat_id": vat}}), "client", OPTION_NAMES)
    publish_models(settings(), DIRECTORY.name, event.partner_id, event, as_json,
                   f"client {client_id} ({'changed' if cur else 'new'})")


@app.command()
def channel(
    channel_id: str = typer.Argument(..., help="The channel id, e.g. acmeCH0001."),
    client_id: str = typer.Option(None, "--client", help="The client that owns it."),
    partner_id: str = typer.Option(None, "--partner", help="The client's partner (found from the client)."),
    license_: str = typer.Option(None, "--license", help="regular, premium or high_throughput."),
    starts: str = typer.Option(None, help="When license billing starts (default: now)."),
    phone_number: str = typer.Option(None, "--phone-number", help="The business number, E.164."),
    renewal: bool = typer.Option(None, "--renewal/--no-renewal", help="Auto-renewal of its own balance "
                                 "(Direct-Paid)."),
    renewal_threshold: str = typer.Option(None, "--renewal-threshold", help="Top up below this amount."),
    renewal_amount: str = typer.Option(None, "--renewal-amount", help="How much a top-up asks for."),
    as_json: bool = JsonOption,
) -> None:
    """Add a channel to a client, or change one (license, auto-renewal)."""
    cur = run(_current("SELECT c.partner_id, c.client_id, c.license, c.billing_started_at, b.renewal_enabled, "
                       "b.renewal_threshold, b.renewal_amount FROM invoicing.channels c "
                       "LEFT JOIN balance.channels b USING (channel_id) WHERE c.channel_id = $1", channel_id))
    client_id = _pick(client_id, cur, "client_id")
    if partner_id is None and not cur and client_id:
        partner_id = run(_current("SELECT partner_id FROM invoicing.clients WHERE client_id = $1",
                                  client_id)).get("partner_id")
        if partner_id is None:
            fail(f"--partner: no client {client_id} is known (yet); name its partner with --partner")
    event = validated(ChannelAdded, _present({
        "type": "channel.added", "channel_id": channel_id, "client_id": client_id,
        "partner_id": _pick(partner_id, cur, "partner_id"), "license": _pick(license_, cur, "license"),
        "billing_started_at": when(starts) or _pick(None, cur, "billing_started_at") or when("now"),
        "phone_number": phone_number,
        "auto_renewal": _renewal(cur, renewal, renewal_threshold, renewal_amount)}), "channel", OPTION_NAMES)
    publish_models(settings(), DIRECTORY.name, event.partner_id, event, as_json,
                   f"channel {channel_id} ({'changed' if cur else 'new'})")


@app.command()
def cancel(
    channel_id: str = typer.Argument(..., help="The channel to cancel."),
    at: str = typer.Option("now", help="When it was cancelled; it is billed through the end of that month."),
    partner_id: str = typer.Option(None, "--partner", help="Its partner (found from the channel)."),
    as_json: bool = JsonOption,
) -> None:
    """Cancel a channel: billed through the end of the month it is cancelled in, not after."""
    if partner_id is None:
        partner_id = run(_current("SELECT partner_id FROM invoicing.channels WHERE channel_id = $1",
                                  channel_id)).get("partner_id")
        if partner_id is None:
            fail(f"no channel {channel_id} is known; give --partner to cancel it anyway")
    event = validated(ChannelCancelled, {"type": "channel.cancelled", "channel_id": channel_id,
                                         "partner_id": partner_id, "cancelled_at": when(at)},
                      "cancellation", OPTION_NAMES)
    publish_models(settings(), DIRECTORY.name, partner_id, event, as_json, f"cancellation of {channel_id}")
