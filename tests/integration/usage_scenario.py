"""A burst of statuses with every charging rule in it, and the priced usage it must yield."""

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal

from tests.builders import (AT_NUMBER, DE_NUMBER, EUR_CARD, US_NUMBER, USD_CARD, channel, client, partner,
                            pricing, status)


@dataclass
class Scenario:
    directory: list[tuple[bytes, bytes]] = field(default_factory=list)
    ratecards: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[bytes, bytes]] = field(default_factory=list)
    # usage_id → (balance owner id, amount, usage month)
    expected: dict[str, tuple[str, Decimal, str]] = field(default_factory=dict)


def burst(unique: str, messages_per_kind: int = 20, seed: int = 7) -> Scenario:
    """Partner-Paid (EUR) and Direct-Paid (USD) channels; every kind of message; duplicates; shuffled."""
    rnd = random.Random(seed)
    pp, dp = f"{unique}ppPA", f"{unique}dpPA"
    pp_channels = [f"{unique}ppCH1", f"{unique}ppCH2"]
    dp_channel = f"{unique}dpCH1"
    s = Scenario()
    for key, value in [
        (pp, partner(pp, "partner_paid", "EUR")), (pp, client(f"{unique}ppCL", pp)),
        *[(pp, channel(c, f"{unique}ppCL", pp)) for c in pp_channels],
        (dp, partner(dp, "direct_paid", "USD")), (dp, client(f"{unique}dpCL", dp)),
        (dp, channel(dp_channel, f"{unique}dpCL", dp)),
    ]:
        s.directory.append((key.encode(), json.dumps(value).encode()))
    s.ratecards = [(b"EUR", json.dumps(EUR_CARD).encode()), (b"USD", json.dumps(USD_CARD).encode())]

    records: list[tuple[str, dict]] = []
    n = 0

    def mid() -> str:
        nonlocal n
        n += 1
        return f"wamid.{unique}.{n}"

    def add(ch: str, *states: dict) -> None:
        records.extend((ch, st) for st in states)

    for i in range(messages_per_kind):
        ch = pp_channels[i % 2]
        day = f"2026-10-{(i % 27) + 1:02d}T10:00:00Z"
        later = f"2026-10-{(i % 27) + 1:02d}T10:00:05Z"
        # Pricing on sent only; delivered and read without it; charged 0.1131 (EUR, Germany).
        m = mid()
        add(ch, status(m, ch, "sent", day, price=pricing()), status(m, ch, "delivered", later),
            status(m, ch, "read", later))
        s.expected[m] = (pp, Decimal("0.1131"), "2026-10")
        # Pricing on delivered only, to Austria: 0.0592.
        m = mid()
        add(ch, status(m, ch, "sent", day, AT_NUMBER), status(m, ch, "delivered", later, AT_NUMBER, pricing()))
        s.expected[m] = (pp, Decimal("0.0592"), "2026-10")
        # Read without delivered, US number (default market), utility: 0.0300.
        m = mid()
        add(ch, status(m, ch, "read", later, US_NUMBER, pricing("utility")))
        s.expected[m] = (pp, Decimal("0.0300"), "2026-10")
        # Free types, billable false without a type, failed, sent only: never charged.
        m = mid()
        add(ch, status(m, ch, "delivered", later, price=pricing("service", "free_customer_service")))
        m = mid()
        add(ch, status(m, ch, "delivered", later, price=pricing(type_=None, billable=False)))
        m = mid()
        add(ch, status(m, ch, "sent", day, price=pricing()), status(m, ch, "failed", later))
        m = mid()
        add(ch, status(m, ch, "sent", day, price=pricing()))
        # Direct-Paid: the channel's own balance, in USD.
        m = mid()
        add(dp_channel, status(m, dp_channel, "sent", day, DE_NUMBER, pricing()),
            status(m, dp_channel, "delivered", later, DE_NUMBER))
        s.expected[m] = (dp_channel, Decimal("0.1365"), "2026-10")
    # CBP: three messages of one conversation, one charged (the earliest delivered).
    first = None
    for j in range(3):
        m = mid()
        first = first or m
        at = f"2026-10-28T0{j}:00:00Z"
        add(pp_channels[0], status(m, pp_channels[0], "delivered", at, price=pricing(model="CBP"),
                                   conversation=f"conv-{unique}"))
    s.expected[first] = (pp, Decimal("0.1131"), "2026-10")
    # Month boundary: delivered at 23:59:59 on Oct 31 is October; at 00:00:00 Nov 1, November.
    for at, month in (("2026-10-31T23:59:59Z", "2026-10"), ("2026-11-01T00:00:00Z", "2026-11")):
        m = mid()
        add(pp_channels[1], status(m, pp_channels[1], "delivered", at, price=pricing()))
        s.expected[m] = (pp, Decimal("0.1131"), month)

    # Every status twice, and the whole burst shuffled.
    doubled = records + rnd.sample(records, len(records))
    rnd.shuffle(doubled)
    s.statuses = [(ch.encode(), json.dumps(st).encode()) for ch, st in doubled]
    return s
