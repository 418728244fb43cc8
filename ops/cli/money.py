"""`billing money`: record a payment or a refund, show a balance, list the low and the depleted.

Payments and refunds are published to `billing.payments.v1` as the payment
provider would (key: the balance's owner); the balance service applies each
`payment_id` / `refund_id` once, so recording the same one twice is harmless.
"""

from decimal import Decimal
from typing import Any

import typer

from shared.contracts import PaymentSucceeded, RefundSucceeded
from shared.money import plain
from shared.topics import PAYMENTS

from .common import (JsonOption, amount, emit_json, err, fail, fetch, out, publish_models, run, settings, table,
                     validated)
from .directory import when

app = typer.Typer(help="Payments, refunds and credit balances.", no_args_is_help=True)

NAMES = {"account.partner_id": "--partner", "account.channel_id": "--channel", "paid_at": "--at",
         "refunded_at": "--at", "payment_id": "--id", "refund_id": "--id",
         "method": "--method", "currency": "--currency", "topup_request_id": "--topup-request"}
PartnerOpt = typer.Option(None, "--partner", help="A Partner-Paid partner's shared balance.")
ChannelOpt = typer.Option(None, "--channel", help="A Direct-Paid channel's own balance.")


def _account(partner_id: str | None, channel_id: str | None) -> dict[str, str]:
    if (partner_id is None) == (channel_id is None):
        fail("name exactly one balance: --partner PARTNER (Partner-Paid) or --channel CHANNEL (Direct-Paid)")
    return {"partner_id": partner_id} if partner_id else {"channel_id": channel_id}


def _balance(owner: str) -> dict[str, Any] | None:
    rows = run(fetch(settings(), "SELECT owner_id, kind, partner_id, client_id, billing_model, currency, amount "
                     "FROM balance.balances WHERE owner_id = $1", owner))
    return dict(rows[0]) if rows else None


def _checked(owner: str, currency: str | None) -> tuple[dict[str, Any] | None, str]:
    """The balance (if the service knows it yet) and the currency to use."""
    found = _balance(owner)
    if found is None:
        if currency is None:
            fail(f"no balance {owner} is known yet; give --currency to record it anyway (the balance service "
                 "holds it until the directory names the account, then dead-letters it as unknown_account)")
        err.print(f"[yellow]warning:[/] no balance {owner} is known yet; the balance service holds the record "
                  "until the directory names it", highlight=False)
        return None, currency.upper()
    if currency is not None and currency.upper() != found["currency"]:
        fail(f"{owner} is kept in {found['currency']}, not {currency.upper()} (it would be refused as "
             "currency_mismatch)")
    return found, found["currency"]


@app.command()
def payment(
    value: str = typer.Argument(..., metavar="AMOUNT", help="Amount paid in, such as 100.00."),
    payment_id: str = typer.Option(..., "--id", help="The provider's payment id; recorded once."),
    partner_id: str = PartnerOpt,
    channel_id: str = ChannelOpt,
    method: str = typer.Option("bank_transfer", help="card, bank_transfer, pix or boleto (card carries a 4 % fee)."),
    currency: str = typer.Option(None, help="EUR or USD (default: the balance's)."),
    at: str = typer.Option("now", help="When it was paid (RFC 3339 or YYYY-MM-DD)."),
    topup_request_id: str = typer.Option(None, "--topup-request", help="The topup.requested it answers."),
    as_json: bool = JsonOption,
) -> None:
    """Record a payment into a balance (a top-up)."""
    account = _account(partner_id, channel_id)
    paid = amount(value)
    data = {"type": "payment.succeeded", "payment_id": payment_id, "account": account, "amount": format(paid, "f"),
            "currency": (currency or "EUR").upper(), "method": method, "paid_at": when(at),
            "topup_request_id": topup_request_id}
    _valid(PaymentSucceeded, data)  # bad input is named before the balance is looked up
    _, data["currency"] = _checked(next(iter(account.values())), currency)
    model = _valid(PaymentSucceeded, data)
    cur = model.currency
    publish_models(settings(), PAYMENTS.name, model.account.owner_id, model, as_json,
                   f"payment {payment_id} of {paid} {cur}")


@app.command()
def refund(
    value: str = typer.Argument(..., metavar="AMOUNT", help="Amount paid back, such as 30.00."),
    refund_id: str = typer.Option(..., "--id", help="The provider's refund id; recorded once."),
    partner_id: str = PartnerOpt,
    channel_id: str = ChannelOpt,
    currency: str = typer.Option(None, help="EUR or USD (default: the balance's)."),
    at: str = typer.Option("now", help="When it was refunded (RFC 3339 or YYYY-MM-DD)."),
    as_json: bool = JsonOption,
) -> None:
    """Record a refund out of a balance; never more than the balance holds."""
    account = _account(partner_id, channel_id)
    paid = amount(value)
    data = {"type": "refund.succeeded", "refund_id": refund_id, "account": account, "amount": format(paid, "f"),
            "currency": (currency or "EUR").upper(), "refunded_at": when(at)}
    _valid(RefundSucceeded, data)
    found, cur = _checked(next(iter(account.values())), currency)
    if found is not None and paid > found["amount"]:
        err.print(f"[yellow]warning:[/] a refund of {paid} exceeds the balance of {found['owner_id']} as it "
                  f"stands ({_plain(found['amount'])} {cur}); unless payments in flight land first, it is refused "
                  "as refund_exceeds_balance", highlight=False)
    model = _valid(RefundSucceeded, {**data, "currency": cur})
    publish_models(settings(), PAYMENTS.name, model.account.owner_id, model, as_json,
                   f"refund {refund_id} of {paid} {cur}")


def _valid(model: Any, data: dict[str, Any]) -> Any:
    return validated(model, data, data["type"].split(".")[0], NAMES)


def _plain(value: Decimal) -> str:
    return format(plain(value), "f")


@app.command()
def balance(
    owner: str = typer.Argument(..., help="The balance's owner: a Partner-Paid partner or a Direct-Paid channel."),
    entries: int = typer.Option(10, help="How many recent ledger entries to show."),
    as_json: bool = JsonOption,
) -> None:
    """One balance and its most recent ledger entries (payments, refunds, usage)."""
    found = _balance(owner)
    if found is None:
        fail(f"no balance {owner}: balances belong to Partner-Paid partners and Direct-Paid channels", code=1)
    rows = run(fetch(settings(), "SELECT entry_id, kind, business_id, amount, occurred_at, booked_month, channel_id, "
                     "category, method FROM balance.ledger WHERE owner_id = $1 ORDER BY entry_id DESC LIMIT $2",
                     owner, entries))
    ledger = [{**dict(r), "amount": Decimal(_plain(r["amount"]))} for r in rows]
    found["amount"] = Decimal(_plain(found["amount"]))
    if as_json:
        emit_json({"balance": found, "entries": ledger})
        return
    out.print(f"[bold]{owner}[/] ({found['billing_model']}, partner {found['partner_id']}): "
              f"[bold]{found['amount']} {found['currency']}[/]", highlight=False)
    table(f"last {len(ledger)} ledger entries", ("entry", "kind", "business id", "amount", "at", "booked to",
                                                  "channel", "category / method"),
          [(e["entry_id"], e["kind"], e["business_id"], e["amount"], e["occurred_at"], e["booked_month"],
            e["channel_id"], e["category"] or e["method"]) for e in ledger])


@app.command()
def low(
    partner_id: str = typer.Option(None, "--partner", help="Only this partner's balances."),
    as_json: bool = JsonOption,
) -> None:
    """Balances below their auto-renewal threshold (low) or at or below zero (depleted, sending paused)."""
    rows = run(fetch(settings(), """
        SELECT b.owner_id, b.partner_id, b.currency, b.amount, coalesce(c.renewal_threshold, p.renewal_threshold)
               AS threshold
        FROM balance.balances b
        LEFT JOIN balance.partners p ON b.kind = 'partner' AND p.partner_id = b.owner_id
        LEFT JOIN balance.channels c ON b.kind = 'channel' AND c.channel_id = b.owner_id
        WHERE ($1::text IS NULL OR b.partner_id = $1)
          AND (b.amount <= 0 OR b.amount < coalesce(c.renewal_threshold, p.renewal_threshold))
          AND NOT (b.kind = 'channel' AND c.cancelled_at IS NOT NULL AND c.cancelled_at < now())
        ORDER BY b.amount, b.owner_id""", partner_id))
    found = [{"owner_id": r["owner_id"], "partner_id": r["partner_id"],
              "state": "depleted" if r["amount"] <= 0 else "low", "amount": Decimal(_plain(r["amount"])),
              "threshold": None if r["threshold"] is None else Decimal(_plain(r["threshold"])),
              "currency": r["currency"]} for r in rows]
    if as_json:
        emit_json(found)
    else:
        table(f"{len(found)} balance(s) low or depleted", ("balance", "partner", "state", "amount", "threshold",
                                                           "currency"), [tuple(f.values()) for f in found])
