"""Realistic status traffic for the benchmarks: partners of both models, many channels, the contract's
status mix (sent then delivered or read, duplicates, free types, failures), a few hot partners."""

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from tests.builders import channel, client, partner, pricing, ratecard, status

NUMBERS = ["4915112345678", "436641234567", "12125551234", "33612345678", "447700900123", "5511987654321"]
MARKETS = {"DE": "Germany", "AT": "Rest of Western Europe", "FR": "France", "GB": "United Kingdom",
           "US": "North America", "BR": "Brazil"}


def bench_card(currency: str) -> dict:
    """A card that prices marketing, utility and authentication everywhere (the benchmark measures speed,
    not refusals), with volume tiers on utility and authentication in every market: bands small enough
    that a benchmark's month crosses them."""
    rates, tiers = {}, {}
    for i, market in enumerate([*MARKETS.values(), "Other"]):
        rates[(market, "marketing")] = str(Decimal("0.0500") + Decimal(i) / 100)
        for category, base in (("utility", Decimal("0.0200")), ("authentication", Decimal("0.0300"))):
            rate = base + Decimal(i) / 200
            rates[(market, category)] = str(rate)
            tiers[(market, category)] = {0: str(rate), 10: str(rate * Decimal("0.95")),
                                         50: str(rate * Decimal("0.90"))}
    return ratecard(f"bench-{currency}", currency, "2026-01-01", rates, MARKETS, tiers=tiers)


def portfolio_of(p: int) -> str | None:
    """Partners 0–7: two partners' clients per business portfolio (0 and 4, 1 and 5, …); the others' clients
    are portfolios of their own."""
    return f"bench-bp{p % 4}" if p < 8 else None


@dataclass
class Traffic:
    directory: list[tuple[bytes, bytes]]
    ratecards: list[tuple[bytes, bytes]]
    statuses: list[tuple[bytes, bytes]]
    charged: int  # messages that must be charged


def generate(messages: int, partners: int = 20, channels_per_partner: int = 50, hot: bool = False,
             seed: int = 1) -> Traffic:
    rnd = random.Random(seed)
    directory, channels = directory_of(partners, channels_per_partner)
    # Hot: every message on the channels of partner 0 (Partner-Paid: one shared balance).
    pool = channels[:channels_per_partner] if hot else channels
    statuses, charged = [], 0
    for m in range(messages):
        ch = rnd.choice(pool)
        mid = f"wamid.bench.{seed}.{m}"
        day = rnd.randint(1, 28)
        at, later = f"2026-10-{day:02d}T10:00:00Z", f"2026-10-{day:02d}T10:00:07Z"
        number = rnd.choice(NUMBERS)
        kind = rnd.random()
        if kind < 0.70:    # sent with pricing, delivered, often read, sometimes a duplicate
            seq = [status(mid, ch, "sent", at, number, pricing()), status(mid, ch, "delivered", later, number)]
            if rnd.random() < 0.5:
                seq.append(status(mid, ch, "read", later, number))
            if rnd.random() < 0.1:
                seq.append(seq[1])
            charged += 1
        elif kind < 0.85:  # a free service message
            seq = [status(mid, ch, "delivered", later, number, pricing("service", "free_customer_service"))]
        elif kind < 0.93:  # utility, pricing only on delivered
            seq = [status(mid, ch, "sent", at, number), status(mid, ch, "delivered", later, number,
                                                             pricing("utility"))]
            charged += 1
        else:              # failed
            seq = [status(mid, ch, "sent", at, number, pricing()), status(mid, ch, "failed", later, number)]
        statuses += [(ch.encode(), json.dumps(s).encode()) for s in seq]
    cards = [(c.encode(), json.dumps(bench_card(c)).encode()) for c in ("EUR", "USD")]
    return Traffic(directory, cards, statuses, charged)


@dataclass(frozen=True)
class Status:
    """One status record to publish; `charges` names the message it makes chargeable (its first
    delivery evidence of a charged message), whose debit the latency is measured to."""

    key: bytes
    value: bytes
    charges: str | None = None


def directory_of(partners: int, channels_per_partner: int) -> tuple[list[tuple[bytes, bytes]], list[str]]:
    directory, channels = [], []
    for p in range(partners):
        model = "partner_paid" if p % 2 == 0 else "direct_paid"
        currency = "EUR" if model == "partner_paid" else "USD"
        pid = f"bench{p:03d}PA"
        renewal = {"enabled": True, "threshold": "10.00", "amount": "50.00"}
        directory.append((pid.encode(), json.dumps(partner(pid, model, currency, auto_renewal=renewal)).encode()))
        directory.append((pid.encode(), json.dumps(client(f"bench{p:03d}CL", pid, portfolio_of(p))).encode()))
        for c in range(channels_per_partner):
            cid = f"bench{p:03d}CH{c:04d}"
            directory.append((pid.encode(), json.dumps(channel(cid, f"bench{p:03d}CL", pid)).encode()))
            channels.append(cid)
    return directory, channels


def stream(messages: int, channels: list[str], channels_per_partner: int, run: str, hot_partners: int = 3,
           hot_share: float = 0.3, seed: int = 1) -> Iterator[Status]:
    """The statuses of `messages` messages in the order a platform would forward them.

    Later statuses of a message (delivered, read, a duplicate) arrive some hundreds of statuses after
    the earlier ones, as they do in real traffic, not next to them. `hot_share` of the messages go to
    the channels of the first `hot_partners` Partner-Paid partners (partners 0, 2, 4…): a few balances
    that take a large part of all debits. Message ids are `wamid.<run>.<n>`.
    """
    rnd = random.Random(seed)
    hot = [c for p in range(hot_partners) for c in channels[2 * p * channels_per_partner:
                                                             (2 * p + 1) * channels_per_partner]]
    pending: list[tuple[int, int, Status]] = []  # (due position, tie-break, status)
    position = tie = 0

    def later(delay: int, s: Status) -> None:
        nonlocal tie
        tie += 1
        heapq.heappush(pending, (position + delay, tie, s))

    for m in range(messages):
        ch = rnd.choice(hot) if hot and rnd.random() < hot_share else rnd.choice(channels)
        key = ch.encode()
        mid = f"wamid.{run}.{m}"
        day = rnd.randint(1, 28)
        at, later_at = f"2026-10-{day:02d}T10:00:00Z", f"2026-10-{day:02d}T10:00:07Z"
        # A recipient of its own per message, in the six countries' numbering (a third on shared
        # calling codes, +1 and +44, which need libphonenumber's full parse).
        prefix = rnd.choice(NUMBERS)
        number = prefix[:-6] + f"{rnd.randrange(10**6):06d}"
        kind = rnd.random()

        def enc(s: dict, charges: str | None = None) -> Status:
            return Status(key, json.dumps(s).encode(), charges)

        delay = rnd.randint(50, 500)
        if kind < 0.70:    # sent with pricing, delivered, often read, sometimes a duplicate
            # 5 % of all messages are authentication, tiered like utility.
            later(0, enc(status(mid, ch, "sent", at, number, pricing("authentication" if kind >= 0.65
                                                                     else "marketing"))))
            delivered = status(mid, ch, "delivered", later_at, number)
            later(delay, enc(delivered, mid))
            if rnd.random() < 0.5:
                later(delay + rnd.randint(50, 500), enc(status(mid, ch, "read", later_at, number)))
            if rnd.random() < 0.1:
                later(delay + rnd.randint(0, 2000), enc(delivered))
        elif kind < 0.85:  # a free service message
            later(0, enc(status(mid, ch, "delivered", later_at, number,
                                pricing("service", "free_customer_service"))))
        elif kind < 0.93:  # utility, pricing only on delivered
            later(0, enc(status(mid, ch, "sent", at, number)))
            later(delay, enc(status(mid, ch, "delivered", later_at, number, pricing("utility")), mid))
        else:              # failed
            later(0, enc(status(mid, ch, "sent", at, number, pricing())))
            later(delay, enc(status(mid, ch, "failed", later_at, number)))
        while pending and pending[0][0] <= position:
            position += 1
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]


def first_debits(channels: list[str], run: str) -> list[Status]:
    """One charged message on every channel: each balance's first debit (and a top-up where it takes the balance
    below its partner's auto-renewal threshold), sent before the benchmark measures anything."""
    out = []
    for n, ch in enumerate(channels):
        mid = f"wamid.{run}.{n}"
        at = "2026-10-01T10:00:00Z"
        out.append(Status(ch.encode(), json.dumps(status(mid, ch, "sent", at, NUMBERS[0], pricing())).encode()))
        out.append(Status(ch.encode(), json.dumps(status(mid, ch, "delivered", at, NUMBERS[0])).encode(), mid))
    return out
