"""A burst of late-2026 traffic (contract 1.1) and the money it must come to, to the micro-unit.

Voice messages (`played`), group messages with delivered, read and failed participants, service messages
charged under the October 2026 rules, `pricing` without `billable`, no `conversation`, and volume tiers:
two clients sharing a business portfolio, one on its own, a Direct-Paid client whose two channels share
theirs. Which message falls in which band depends on the order they are charged in; what each tier count
sums to does not, and that is what is checked, with every other message's exact amount.

Its rate cards are in force from 2026-08-01 and its messages are of August and September 2026: no other
integration test bills those months, so the small bands here price nobody else's messages.
"""

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal

from services.usage_ingest.domain.participants import ParticipantKeys
from tests.builders import (AT_NUMBER, DE_NUMBER, FR_NUMBER, channel, client, group_status, partner, pricing,
                            ratecard, status)

PARTICIPANT_KEY = "integration-participant-key"
KEYS = ParticipantKeys(PARTICIPANT_KEY.encode())
MARKETS = {"DE": "Germany", "AT": "Rest of Western Europe", "FR": "France"}
EUR_TIERS = {("Germany", "utility"): {0: "0.0456", 40: "0.0433", 90: "0.0410"},
             ("Germany", "authentication"): {0: "0.0636", 15: "0.0604"},
             ("Rest of Western Europe", "utility"): {0: "0.0300", 10: "0.0285"}}
USD_TIERS = {("Germany", "utility"): {0: "0.0550", 12: "0.0520"}}
EUR_CARD = ratecard("test-2026-08-EUR", "EUR", "2026-08-01", {
    ("Germany", "marketing"): "0.1131", ("Germany", "utility"): "0.0456", ("Germany", "authentication"): "0.0636",
    ("Germany", "service"): "0.0250", ("Rest of Western Europe", "marketing"): "0.0592",
    ("Rest of Western Europe", "utility"): "0.0300", ("Other", "marketing"): "0.0604"}, MARKETS, tiers=EUR_TIERS)
USD_CARD = ratecard("test-2026-08-USD", "USD", "2026-08-01", {
    ("Germany", "marketing"): "0.1365", ("Germany", "utility"): "0.0550", ("Other", "marketing"): "0.0730"},
    MARKETS, tiers=USD_TIERS)
TIERS = {"EUR": EUR_TIERS, "USD": USD_TIERS}


Key = tuple[str, str, str, str]  # (portfolio, market, category, usage month): one volume count


@dataclass
class Burst:
    directory: list[tuple[bytes, bytes]] = field(default_factory=list)
    ratecards: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[bytes, bytes]] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)      # usage id → the balance it debits
    key: dict[str, Key] = field(default_factory=dict)        # usage id → its volume count
    fixed: dict[str, Decimal] = field(default_factory=dict)  # usage id → its amount, where no band applies
    currency: dict[Key, str] = field(default_factory=dict)

    def charge(self, mid: str, owner: str, key: Key, currency: str, amount: str | None = None) -> None:
        self.owner[mid], self.key[mid], self.currency[key] = owner, key, currency
        if amount is not None:
            self.fixed[mid] = Decimal(amount)

    def tiered(self) -> dict[Key, list[str]]:
        """The usage ids of each count whose (market, category) has bands."""
        out: dict[Key, list[str]] = {}
        for mid, key in self.key.items():
            if mid not in self.fixed:
                out.setdefault(key, []).append(mid)
        return out

    def tier_amounts(self, key: Key) -> list[Decimal]:
        """The n-th message of the count (n = 1…N) at the band that holds n − 1, smallest first."""
        bands = TIERS[self.currency[key]][(key[1], key[2])]
        count = sum(1 for k in self.key.values() if k == key)
        return sorted(Decimal(bands[max(s for s in bands if s <= n - 1)]) for n in range(1, count + 1))


def burst(unique: str, seed: int = 2026) -> Burst:
    rnd = random.Random(seed)
    pp, dp = f"{unique}ppPA", f"{unique}dpPA"
    c1, c2, c3, dc = f"{unique}c1CL", f"{unique}c2CL", f"{unique}c3CL", f"{unique}dcCL"
    ch1, ch2, ch3, d1, d2 = (f"{unique}{n}CH" for n in ("ch1", "ch2", "ch3", "d1", "d2"))
    portfolio, dp_portfolio = f"{unique}-bp", f"{unique}-bp2"
    b = Burst()
    for key, value in [(pp, partner(pp, "partner_paid", "EUR")), (pp, client(c1, pp, portfolio)),
                       (pp, client(c2, pp, portfolio)), (pp, client(c3, pp)), (pp, channel(ch1, c1, pp)),
                       (pp, channel(ch2, c2, pp)), (pp, channel(ch3, c3, pp)),
                       (dp, partner(dp, "direct_paid", "USD")), (dp, client(dc, dp, dp_portfolio)),
                       (dp, channel(d1, dc, dp)), (dp, channel(d2, dc, dp))]:
        b.directory.append((key.encode(), json.dumps(value).encode()))
    b.ratecards = [(b"EUR", json.dumps(EUR_CARD).encode()), (b"USD", json.dumps(USD_CARD).encode())]
    records: list[dict] = []
    n = 0

    def when(i: int) -> tuple[str, str]:
        day = f"2026-08-{i % 31 + 1:02d}"
        return f"{day}T10:{i % 60:02d}:00Z", f"{day}T23:59:59Z" if i % 31 == 30 else f"{day}T10:{i % 60:02d}:30Z"

    def one_to_one(ch: str, number: str, category: str, i: int, evidence: str = "delivered",
                   type_: str = "regular") -> str:
        nonlocal n
        n += 1
        mid = f"wamid.{unique}.{n}"
        sent_at, at = when(i)
        price = pricing(category, type_, billable=None)
        if rnd.random() < 0.5:
            records.extend([status(mid, ch, "sent", sent_at, number, price), status(mid, ch, evidence, at, number)])
        else:
            records.extend([status(mid, ch, "sent", sent_at, number), status(mid, ch, evidence, at, number, price)])
        return mid

    de_utility, at_utility = (portfolio, "Germany", "utility", "2026-08"), (portfolio, "Rest of Western Europe",
                                                                           "utility", "2026-08")
    for i in range(120):  # the shared portfolio's utility to Germany, from both clients' channels
        b.charge(one_to_one((ch1, ch2)[i % 2], DE_NUMBER, "utility", i, ("delivered", "read")[i % 3 == 0]), pp,
                 de_utility, "EUR")
    for i in range(5):
        b.charge(one_to_one(ch2, AT_NUMBER, "utility", i), pp, at_utility, "EUR")
    for i in range(3):  # September: a count of its own, from the list rate
        n += 1
        mid = f"wamid.{unique}.{n}"
        records.append(status(mid, ch1, "delivered", f"2026-09-01T00:00:0{i}Z", DE_NUMBER,
                              pricing("utility", billable=None)))
        b.charge(mid, pp, (portfolio, "Germany", "utility", "2026-09"), "EUR")
    for i in range(10):  # group messages: group_utility counts with utility; group_marketing at marketing's
        for category, ch in (("group_utility", ch1), ("group_marketing", ch3)):
            n += 1
            mid = f"wamid.{unique}.{n}"
            sent_at, at = when(i)
            price = pricing(category, billable=None)
            records += [group_status(mid, ch, "sent", sent_at, number, price=price)
                        for number in (DE_NUMBER, AT_NUMBER, FR_NUMBER)]
            records += [group_status(mid, ch, "delivered", at, DE_NUMBER), group_status(mid, ch, "read", at, AT_NUMBER),
                        group_status(mid, ch, "failed", at, FR_NUMBER)]
            de, at_ = KEYS.unit_of(mid, DE_NUMBER), KEYS.unit_of(mid, AT_NUMBER)
            if category == "group_utility":
                b.charge(de, pp, de_utility, "EUR")
                b.charge(at_, pp, at_utility, "EUR")
            else:
                b.charge(de, pp, (c3, "Germany", "marketing", "2026-08"), "EUR", "0.1131")
                b.charge(at_, pp, (c3, "Rest of Western Europe", "marketing", "2026-08"), "EUR", "0.0592")
    for i in range(20):  # a client of its own: authentication crosses its band at 15
        b.charge(one_to_one(ch3, DE_NUMBER, "authentication", i), pp, (c3, "Germany", "authentication", "2026-08"),
                 "EUR")
    for i in range(10):  # voice: sent, then played
        b.charge(one_to_one(ch3, DE_NUMBER, "marketing", i, "played"), pp, (c3, "Germany", "marketing", "2026-08"),
                 "EUR", "0.1131")
    for i in range(10):  # service past the free tier (October 2026 rules): charged at its rate
        b.charge(one_to_one(ch2, DE_NUMBER, "service", i), pp, (portfolio, "Germany", "service", "2026-08"), "EUR",
                 "0.0250")
    for i in range(10):  # free service, failures: never charged
        one_to_one(ch2, DE_NUMBER, "service", i, type_="free_customer_service")
        one_to_one(ch1, DE_NUMBER, "utility", i, "failed")
    for i in range(20):  # Direct-Paid: two channels of one client, one portfolio, one count
        ch = (d1, d2)[i % 2]
        b.charge(one_to_one(ch, DE_NUMBER, "utility", i), ch, (dp_portfolio, "Germany", "utility", "2026-08"), "USD")

    doubled = records + rnd.sample(records, len(records) // 2)
    rnd.shuffle(doubled)
    b.statuses = [(r["channel_id"].encode(), json.dumps(r).encode()) for r in doubled]
    return b
