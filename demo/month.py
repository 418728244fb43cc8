"""October 2026 for two partners: what the demo publishes, with fixed ids so a re-run changes nothing.

- Acme (Partner-Paid, EUR, Germany, VAT id): clients Bob (Austria) and Carla
  (Germany); four channels, one added mid-month, one cancelled on the 20th.
  One shared balance, auto-renewal below 20.00 with 50.00.
- Globex (Direct-Paid, USD, United States): clients Initech (France) and
  Umbrella (Spain, VAT id); four channels, each with its own balance; one
  runs out mid-month and is topped up when the platform asks; one sends
  before the Hub has announced it.
- After the close, two corrections: Acme's premium license for November
  was billed for a channel already downgraded (the difference goes back to
  its balance), and Globex's premium plan for November is waived (paid out
  by accounting).
- Meta's 2026 traffic (contract 1.1): a voice message (`played`), a group
  message with a participant who never got it, a service message charged under
  the October 2026 rules, and Bob and Carla in one business portfolio whose
  utility messages to Germany cross a volume tier. The demo's EUR card has
  small bands (from 100 and 200 messages; Meta's start at 100,000 and more) so
  that one month of a demo crosses one.
"""

import random
from dataclasses import dataclass, field
from typing import Any

from tests.builders import group_status, pricing, ratecard, status

MONTH = "2026-10"
RENEWAL_ACME = {"enabled": True, "threshold": "20.00", "amount": "50.00"}
RENEWAL_CH7 = {"enabled": True, "threshold": "5.00", "amount": "20.00"}
MARKETS = {"DE": "Germany", "AT": "Rest of Western Europe", "FR": "France", "ES": "Spain", "US": "North America"}
RATES = {"EUR": {"marketing": ["0.1131", "0.0592", "0.0791", "0.0615", "0.0250", "0.0604"],
                 "utility": ["0.0456", "0.0300", "0.0300", "0.0200", "0.0034", "0.0300"],
                 "authentication": ["0.0636", "0.0350", "0.0400", "0.0250", "0.0135", "0.0350"],
                 "service": ["0.0456", "0.0300", "0.0300", "0.0200", "0.0034", "0.0300"]},
         "USD": {"marketing": ["0.1365", "0.0714", "0.0955", "0.0742", "0.0250", "0.0730"],
                 "utility": ["0.0550", "0.0362", "0.0362", "0.0241", "0.0040", "0.0362"],
                 "authentication": ["0.0768", "0.0422", "0.0483", "0.0302", "0.0135", "0.0422"],
                 "service": ["0.0550", "0.0362", "0.0362", "0.0241", "0.0040", "0.0362"]}}
# Volume tiers with demo-sized bands (Meta's first band ends at 100,000 or more).
TIERS = {"EUR": {("Germany", "utility"): {0: "0.0456", 100: "0.0433", 200: "0.0410"},
                 ("North America", "authentication"): {0: "0.0135", 25: "0.0128"}}}
PORTFOLIO = "1122334455667788"  # Bob's and Carla's Meta business portfolio
NUMBERS = {"DE": "4915112345678", "AT": "436641234567", "FR": "33612345678", "ES": "34612345678",
           "US": "12125551234"}


def cards() -> list[dict[str, Any]]:
    out = []
    for currency, by_category in RATES.items():
        rates = {(market, category): by_category[category][i]
                 for category in by_category for i, market in enumerate([*MARKETS.values(), "Other"])}
        out.append(ratecard(f"demo-2026-10-{currency}", currency, "2026-10-01", rates, MARKETS,
                            tiers=TIERS.get(currency)))
    return out


# Postal addresses and invoice e-mails travel as fields of the billing address beyond contract 1.1,
# which invoicing prints on the documents (§14 UStG) and XRechnung needs (docs/invoicing.md).
ADDRESSES = {
    "acmePA": {"street": "Hauptstraße 1", "postcode": "80331", "city": "München", "email": "rechnungen@acme.example"},
    "globexPA": {"street": "1 Globex Plaza", "postcode": "10001", "city": "New York", "email": "ap@globex.example"},
    "carlaCL": {"street": "Kärntner Straße 12", "postcode": "1010", "city": "Wien"},
    "initechCL": {"street": "12 rue de la Paix", "postcode": "75002", "city": "Paris"},
    "umbrellaCL": {"street": "Calle Mayor 5", "postcode": "28013", "city": "Madrid"},
}


def _partner(pid, name, model, currency, plan, country, vat, renewal=None):
    return {"type": "partner.upserted", "partner_id": pid, "name": name, "billing_model": model,
            "currency": currency, "plan": plan, "created_at": "2026-10-01T00:00:00Z",
            "billing_address": {"country": country, "vat_id": vat, **ADDRESSES.get(pid, {})},
            "auto_renewal": renewal}


def _client(cid, pid, name, country, vat, portfolio=None):
    return {"type": "client.upserted", "client_id": cid, "partner_id": pid, "name": name,
            "billing_address": {"country": country, "vat_id": vat, **ADDRESSES.get(cid, {})},
            "business_portfolio_id": portfolio}


def _channel(ch, cid, pid, license_, started, renewal=None):
    return {"type": "channel.added", "channel_id": ch, "client_id": cid, "partner_id": pid, "license": license_,
            "billing_started_at": started, "auto_renewal": renewal}


DIRECTORY = [
    _partner("acmePA", "Acme Messaging GmbH", "partner_paid", "EUR", "growth", "DE", "DE123456789", RENEWAL_ACME),
    _client("bobCL", "acmePA", "Bob's Bikes", "AT", None, PORTFOLIO),
    _client("carlaCL", "acmePA", "Carla Cafés", "DE", None, PORTFOLIO),
    _channel("acmeCH0001", "bobCL", "acmePA", "regular", "2026-10-01T00:00:00Z"),
    _channel("acmeCH0002", "bobCL", "acmePA", "premium", "2026-10-01T00:00:00Z"),
    _channel("acmeCH0003", "carlaCL", "acmePA", "regular", "2026-10-15T09:30:00Z"),
    _channel("acmeCH0004", "carlaCL", "acmePA", "high_throughput", "2026-10-01T00:00:00Z"),
    {"type": "channel.cancelled", "channel_id": "acmeCH0004", "partner_id": "acmePA",
     "cancelled_at": "2026-10-20T12:00:00Z"},
    _partner("globexPA", "Globex Corporation", "direct_paid", "USD", "premium", "US", None),
    _client("initechCL", "globexPA", "Initech SARL", "FR", None),
    _client("umbrellaCL", "globexPA", "Umbrella S.L.", "ES", "ESX1234567X"),
    _channel("globexCH0007", "initechCL", "globexPA", "regular", "2026-10-01T00:00:00Z", RENEWAL_CH7),
    _channel("globexCH0008", "initechCL", "globexPA", "premium", "2026-10-10T00:00:00Z"),
    _channel("globexCH0009", "umbrellaCL", "globexPA", "regular", "2026-10-01T00:00:00Z"),
]
# Announced only after its first statuses have arrived: they are held, then charged.
LATE_CHANNEL = _channel("globexCH0010", "umbrellaCL", "globexPA", "regular", "2026-10-05T00:00:00Z")


def _payment(pid, account, amount, currency, method, day, request=None):
    return {"type": "payment.succeeded", "payment_id": pid, "account": account, "amount": amount,
            "currency": currency, "method": method, "paid_at": f"2026-10-{day:02d}T08:00:00Z",
            "topup_request_id": request}


PAYMENTS = [
    _payment("pay_demo_acme_1", {"partner_id": "acmePA"}, "100.00", "EUR", "card", 1),
    _payment("pay_demo_ch7_1", {"channel_id": "globexCH0007"}, "20.00", "USD", "card", 1),
    _payment("pay_demo_ch8_1", {"channel_id": "globexCH0008"}, "15.00", "USD", "bank_transfer", 10),
    _payment("pay_demo_ch9_1", {"channel_id": "globexCH0009"}, "25.00", "USD", "pix", 2),
    _payment("pay_demo_ch10_1", {"channel_id": "globexCH0010"}, "10.00", "USD", "boleto", 6),
    {"type": "refund.succeeded", "refund_id": "ref_demo_acme_1", "account": {"partner_id": "acmePA"},
     "amount": "10.00", "currency": "EUR", "refunded_at": "2026-10-28T08:00:00Z"},
]


@dataclass(frozen=True)
class Correction:
    """An `invoice.credit` of one line of an invoice of the close, found by what it bills."""

    command_id: str
    kind: str
    recipient: str
    period: str
    code: str
    channel_id: str | None
    amount: str | None  # None: the whole line
    reason: str
    settle: str


CORRECTIONS = [
    Correction("demo-credit-acme-license-2026-11", "subscription", "acmePA", "2026-11", "license", "acmeCH0002",
               "24.00", "acmeCH0002 was downgraded to regular before November: premium difference", "credit_balance"),
    Correction("demo-credit-globex-plan-2026-11", "partner_plan", "globexPA", "2026-11", "partner_plan", None, None,
               "Premium plan for November waived as agreed", "payable"),
]


def credit_command(c: Correction, invoice: dict[str, Any]) -> dict[str, Any]:
    """The command that credits `c` on `invoice` (the contract message as issued)."""
    [position] = [n for n, line in enumerate(invoice["lines"])
                  if line["code"] == c.code and line["channel_id"] == c.channel_id]
    amount = c.amount or invoice["lines"][position]["amount"]
    return {"type": "invoice.credit", "command_id": c.command_id, "invoice_id": invoice["invoice_id"],
            "lines": [{"line": position, "amount": amount}], "reason": c.reason, "settle": c.settle}


def topup_answer(event: dict[str, Any]) -> dict[str, Any]:
    """What the payment provider sends when the platform asks for a top-up."""
    account = event["balance"]
    return _payment(f"pay_demo_{event['request_id'][-12:]}", account, event["amount"], event["currency"], "card",
                    30, event["request_id"])


@dataclass
class Traffic:
    statuses: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0
    # Carla's utility to Germany, published once Bob's is charged: her messages are then the ones past
    # the portfolio's first band, the same on every run (bands follow the order messages are charged in).
    after: list[dict[str, Any]] = field(default_factory=list)


# How many messages of each kind each channel sends: (country, category, count).
PLAN = {
    "acmeCH0001": [("DE", "marketing", 180), ("AT", "marketing", 60), ("DE", "utility", 90)],
    "acmeCH0002": [("DE", "marketing", 120), ("US", "authentication", 40)],
    "acmeCH0003": [("DE", "utility", 50), ("FR", "marketing", 30)],
    "acmeCH0004": [("DE", "marketing", 40)],
    "globexCH0007": [("DE", "marketing", 170)],                  # 23.21 USD: runs out at 20.00
    "globexCH0008": [("FR", "utility", 60)],
    "globexCH0009": [("ES", "marketing", 50), ("US", "utility", 30)],
    "globexCH0010": [("DE", "authentication", 25)],
}


def traffic(seed: int = 2026) -> Traffic:
    """Sent then delivered (pricing on either), some read, every tenth status twice, plus free
    service messages and failures that cost nothing; shuffled."""
    rnd = random.Random(seed)
    out = Traffic()
    n = 0
    for channel_id, kinds in PLAN.items():
        first_day = 15 if channel_id == "acmeCH0003" else 10 if channel_id == "globexCH0008" else 1
        last_day = 19 if channel_id == "acmeCH0004" else 31
        for country, category, count in kinds:
            for _ in range(count):
                n += 1
                mid = f"wamid.demo.{n:05d}"
                day = rnd.randint(first_day, last_day)
                at = f"2026-10-{day:02d}T{rnd.randint(8, 20):02d}:{rnd.randint(0, 59):02d}:00Z"
                later = at[:-3] + "30Z"
                number = NUMBERS[country]
                priced = pricing(category)
                seq = ([status(mid, channel_id, "sent", at, number, priced), status(mid, channel_id, "delivered",
                                                                                     later, number)]
                       if rnd.random() < 0.5 else
                       [status(mid, channel_id, "sent", at, number), status(mid, channel_id, "delivered", later,
                                                                            number, priced)])
                if rnd.random() < 0.4:
                    seq.append(status(mid, channel_id, "read", later, number))
                out.statuses += seq
                out.messages += 1
        for kind in ("free", "failed"):
            for _ in range(15):
                n += 1
                mid = f"wamid.demo.{n:05d}"
                at = f"2026-10-{rnd.randint(first_day, last_day):02d}T12:00:00Z"
                if kind == "free":
                    out.statuses.append(status(mid, channel_id, "delivered", at, NUMBERS["DE"],
                                               pricing("service", "free_customer_service")))
                else:
                    out.statuses += [status(mid, channel_id, "sent", at, NUMBERS["DE"], pricing()),
                                     status(mid, channel_id, "failed", at, NUMBERS["DE"])]
    out.statuses += rnd.sample(out.statuses, len(out.statuses) // 10)
    rnd.shuffle(out.statuses)
    carla = {st["status"]["id"] for st in out.statuses if st["channel_id"] == "acmeCH0003"
             and (st["status"].get("pricing") or {}).get("category") == "utility"}
    out.after = [st for st in out.statuses if st["status"]["id"] in carla]
    out.statuses = [st for st in out.statuses if st["status"]["id"] not in carla] + meta_2026()
    out.messages += 4
    return out


# Meta's 2026 traffic, one message of each kind, with ids the demo's summary names.
VOICE, GROUP, SERVICE = "wamid.demo.voice", "wamid.demo.group", "wamid.demo.service"
GROUP_ID = "Y2FwaV9ncm91cDpkZW1vLWdyb3VwLTIwMjYZD"


def meta_2026() -> list[dict[str, Any]]:
    """A voice message played; a group marketing message read by one participant, delivered to another and
    failed for a third; a service message outside the free tier (`regular`, charged since 2026-10-01)."""
    voice = [status(VOICE, "acmeCH0001", "sent", "2026-10-21T09:00:00Z", NUMBERS["DE"], pricing("marketing")),
             status(VOICE, "acmeCH0001", "played", "2026-10-21T09:05:00Z", NUMBERS["DE"])]
    group = [group_status(GROUP, "acmeCH0002", "sent", "2026-10-22T10:00:00Z", n, GROUP_ID, pricing("group_marketing"))
             for n in (NUMBERS["DE"], NUMBERS["AT"], NUMBERS["FR"])]
    group += [group_status(GROUP, "acmeCH0002", "read", "2026-10-22T10:01:00Z", NUMBERS["DE"], GROUP_ID),
              group_status(GROUP, "acmeCH0002", "delivered", "2026-10-22T10:00:30Z", NUMBERS["AT"], GROUP_ID),
              group_status(GROUP, "acmeCH0002", "failed", "2026-10-22T10:00:30Z", NUMBERS["FR"], GROUP_ID)]
    service = [status(SERVICE, "acmeCH0001", "delivered", "2026-10-23T15:00:00Z", NUMBERS["AT"],
                      pricing("service", billable=None))]
    return voice + group + service
