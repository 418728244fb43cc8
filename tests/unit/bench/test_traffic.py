"""The benchmark's traffic is the contract's status mix, valid, in a realistic order (no timings here)."""

import json
from collections import Counter

from bench.pipeline import percentiles, rss_summary
from bench.hops import split
from bench.traffic import directory_of, first_debits, stream
from shared.contracts import decode
from shared.topics import DIRECTORY, MESSAGE_STATUS


def test_every_status_and_directory_record_passes_the_contract():
    """The benchmark measures speed, not refusals: nothing it publishes goes to a DLQ."""
    directory, channels = directory_of(4, 5)
    for _, value in directory:
        decode(DIRECTORY.name, value)
    for s in stream(300, channels, 5, "t"):
        decode(MESSAGE_STATUS.name, s.value)


def test_the_mix_has_deliveries_reads_duplicates_free_messages_and_failures():
    """About 78 % of messages are charged; each charged message is named once, on its first delivery."""
    _, channels = directory_of(10, 20)
    statuses = list(stream(5000, channels, 20, "t"))
    kinds = Counter(json.loads(s.value)["status"]["status"] for s in statuses)
    assert set(kinds) == {"sent", "delivered", "read", "failed"}
    charged = [s.charges for s in statuses if s.charges]
    assert len(charged) == len(set(charged))
    assert 0.70 < len(charged) / 5000 < 0.86
    values = [s.value for s in statuses]
    assert len(values) > len(set(values))  # duplicate deliveries
    free = [s for s in statuses if b"free_customer_service" in s.value]
    assert free


def test_later_statuses_of_a_message_come_after_its_first_and_not_next_to_it():
    """Delivery follows sending some hundreds of statuses later, as in real traffic."""
    _, channels = directory_of(10, 20)
    first: dict[str, int] = {}
    gaps = []
    for i, s in enumerate(stream(2000, channels, 20, "t")):
        body = json.loads(s.value)["status"]
        if body["status"] == "sent":
            first[body["id"]] = i
        elif s.charges and body["id"] in first:
            gaps.append(i - first[body["id"]])
    assert gaps and min(gaps) > 0 and sorted(gaps)[len(gaps) // 2] > 20


def test_a_few_hot_partner_paid_partners_take_a_large_share():
    """30 % of messages go to the channels of partners 0, 2 and 4 (Partner-Paid)."""
    _, channels = directory_of(40, 10)
    keys = Counter(s.key.decode()[:8] for s in stream(3000, channels, 10, "t") if s.charges)
    hot = sum(keys[f"bench{p:03d}"] for p in (0, 2, 4))
    assert hot / sum(keys.values()) > 0.25


def test_percentiles_and_the_rss_summary():
    """The report's arithmetic: percentiles in ms, RSS at shares of the debits done."""
    p = percentiles([i / 1000 for i in range(1, 101)])
    assert p["p50_ms"] == 51.0 and p["p99_ms"] == 100.0 and p["max_ms"] == 100.0
    samples = [{"debits": d, "svc": 100.0 + d / 100} for d in range(0, 1001, 100)]
    summary = rss_summary(samples, 1000, ["svc"])["svc"]
    assert summary["10%"] == 101.0 and summary["100%"] == 110.0 and summary["peak"] == 110.0


def test_the_first_debits_charge_every_channel_once_with_valid_statuses():
    """Before measuring, every balance gets its first debit: one charged message per channel."""
    _, channels = directory_of(3, 4)
    first = first_debits(channels, "prime")
    for s in first:
        decode(MESSAGE_STATUS.name, s.value)
    charged = [s.charges for s in first if s.charges]
    assert len(charged) == len(set(charged)) == len(channels)
    assert {json.loads(s.value)["channel_id"] for s in first} == set(channels)


def test_the_latency_splits_at_the_relay_of_the_priced_usage():
    """Ingest's part runs from publication to the relay, balance's from the relay to the debit; a message
    seen at one end only is left out of both."""
    sent = {"a": 10.0, "b": 11.0, "c": 12.0}
    relayed = {"a": 10.3, "b": 11.1}
    committed = {"a": 10.35, "b": 11.5, "c": 12.2}
    ingest, balance = split(sent, relayed, committed)
    assert [round(x, 3) for x in ingest] == [0.3, 0.1]
    assert [round(x, 3) for x in balance] == [0.05, 0.4]
