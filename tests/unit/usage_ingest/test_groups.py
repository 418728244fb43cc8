"""Meta's 2026 traffic (contract 1.1): `played`, group messages per participant, any category, no `billable`."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from itertools import permutations

from services.usage_ingest.domain.participants import ParticipantKeys
from shared.contracts import encode
from shared.topics import MESSAGE_STATUS
from tests.builders import AT_NUMBER, DE_NUMBER, FR_NUMBER, group_status, pricing, ratecard, status

from .fakes import LateDeadLetter
from .test_service import ACME, HOLD_S, KEYS, NOW, REGULAR, acme_de, new_world, priced, tally
from .test_service import world  # noqa: F401  (the fixture)

GROUP_MARKETING = pricing("group_marketing")


def unit(message_id: str, number: str) -> str:
    return KEYS.unit_of(message_id, number)


async def test_played_alone_is_delivery_evidence(world):
    """A voice message reported `sent` then `played` is charged at the `played` time."""
    await world.statuses(status("wamid.V", "acmeCH0001", "sent", "2026-10-20T10:15:00Z", price=REGULAR),
                         status("wamid.V", "acmeCH0001", "played", "2026-10-20T10:16:00Z"))
    assert world.charged() == {"wamid.V": acme_de("wamid.V", at="2026-10-20T10:16:00Z")}


async def test_played_after_read_charges_once_at_the_read(world):
    """`read` then `played` (and `played` again): one charge, billed at the earliest evidence."""
    read = status("wamid.V", "acmeCH0001", "read", "2026-10-20T10:15:30Z", price=REGULAR)
    played = status("wamid.V", "acmeCH0001", "played", "2026-10-20T10:16:00Z", price=REGULAR)
    await world.statuses(read)
    await world.statuses(played, played)
    assert world.charged() == {"wamid.V": acme_de("wamid.V", at="2026-10-20T10:15:30Z")}


async def test_a_group_message_is_charged_once_per_delivered_participant_in_every_arrival_order():
    """Participants delivered, read, failed and duplicated, in every order and batching: the delivered and
    the read one are charged once each at their own market; the failed one never."""
    def statuses(mid: str) -> list[dict]:
        return [group_status(mid, "acmeCH0001", "sent", "2026-10-20T10:00:00Z", DE_NUMBER, price=GROUP_MARKETING),
                group_status(mid, "acmeCH0001", "delivered", "2026-10-20T10:00:05Z", DE_NUMBER),
                group_status(mid, "acmeCH0001", "read", "2026-10-20T10:00:09Z", AT_NUMBER, price=GROUP_MARKETING),
                group_status(mid, "acmeCH0001", "failed", "2026-10-20T10:00:07Z", FR_NUMBER, price=GROUP_MARKETING),
                group_status(mid, "acmeCH0001", "delivered", "2026-10-20T10:00:05Z", DE_NUMBER)]
    for n, order in enumerate(permutations(range(5))):
        w = await new_world()  # one store per order: the fakes copy the whole store per transaction
        mid = f"wamid.G{n}"
        batch = [statuses(mid)[i] for i in order]
        if n % 2:
            await w.statuses(*batch)
        else:
            for one in batch:
                await w.statuses(one)
        assert w.charged() == {
            unit(mid, DE_NUMBER): priced(unit(mid, DE_NUMBER), ACME, "2026-10-20T10:00:05Z", "2026-10", "0.1131",
                                         "Germany", "DE", "test-2026-10-EUR", "group_marketing"),
            unit(mid, AT_NUMBER): priced(unit(mid, AT_NUMBER), ACME, "2026-10-20T10:00:09Z", "2026-10", "0.0592",
                                         "Rest of Western Europe", "AT", "test-2026-10-EUR", "group_marketing")}
        assert w.store.outcomes()[unit(mid, FR_NUMBER)] == "failed"
        assert w.store.tally == Counter({tally(category="group_marketing"): 2})


async def test_a_participants_number_is_never_stored_nor_sent_on_and_its_key_is_stable(world):
    """Only a keyed hash names the participant; the same number under another key gives another name."""
    await world.statuses(group_status("wamid.G", "acmeCH0001", "delivered", "2026-10-20T10:00:05Z", DE_NUMBER,
                                      price=GROUP_MARKETING))
    [usage] = world.store.outbox
    assert usage.usage_id == "wamid.G/" + KEYS.participant_key(DE_NUMBER) and len(usage.usage_id) == 7 + 1 + 32
    assert DE_NUMBER not in encode(usage).decode() and DE_NUMBER not in repr(world.store.snapshot())
    assert ParticipantKeys(b"another-key").participant_key(DE_NUMBER) != KEYS.participant_key(DE_NUMBER)
    assert KEYS.unit_of("wamid.G", None) == "wamid.G"


async def test_a_group_category_is_priced_at_its_base_category_unless_the_card_lists_it(world):
    """group_marketing without a rate of its own costs marketing's; with one, its own."""
    delivered = group_status("wamid.A", "acmeCH0001", "delivered", "2026-10-20T10:00:05Z", DE_NUMBER,
                             price=GROUP_MARKETING)
    await world.statuses(delivered)
    await world.ratecards(ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {
        ("Germany", "marketing"): "0.1131", ("Germany", "group_marketing"): "0.1000"}))
    await world.statuses({**delivered, "status": {**delivered["status"], "id": "wamid.B"}})
    assert [(u.category, u.rate) for u in world.store.outbox] == [
        ("group_marketing", Decimal("0.1131")), ("group_marketing", Decimal("0.1000"))]


async def test_a_group_category_whose_base_has_no_rate_either_is_held_as_no_rate(world):
    """group_service: no group_service rate, no service rate: held for a rate, not charged."""
    await world.statuses(group_status("wamid.S", "acmeCH0001", "delivered", "2026-10-20T10:00:05Z", DE_NUMBER,
                                      price=pricing("group_service")))
    assert world.store.outbox == [] and world.store.held_reasons() == {0: "no_rate"}


async def test_an_unknown_category_is_held_then_dead_lettered_as_no_rate_never_schema_invalid(world):
    """A category Meta added is accepted, held for a rate card that may follow, then dead-lettered no_rate."""
    ai = pricing("general_purpose_ai")
    await world.statuses(status("wamid.AI", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=ai))
    assert world.store.held_reasons() == {0: "no_rate"}
    await world.sweep(NOW + timedelta(seconds=HOLD_S + 1))
    assert world.store.late_dead_letters == {(MESSAGE_STATUS.name, 0, 0): LateDeadLetter(
        MESSAGE_STATUS.name, 0, 0, b"acmeCH0001", "no_rate",
        "no EUR rate for category general_purpose_ai to DE on 2026-10-20 (held 3600s)")}
    assert world.store.outbox == []


async def test_a_new_category_is_charged_as_soon_as_a_card_prices_it(world):
    """Held for want of a rate, charged at the new card's rate once it comes."""
    ai = pricing("general_purpose_ai")
    await world.statuses(status("wamid.AI", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=ai))
    await world.ratecards(ratecard("test-2026-10-EUR", "EUR", "2026-10-01", {
        ("Germany", "general_purpose_ai"): "0.0200"}))
    assert [(u.usage_id, u.rate) for u in world.store.outbox] == [("wamid.AI", Decimal("0.0200"))]


async def test_pricing_without_billable_is_decided_by_its_type(world):
    """Meta deprecates `billable`: `regular` (or no type at all) is charged, a free type is not."""
    await world.statuses(
        status("wamid.R", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z", price=pricing(billable=None)),
        status("wamid.N", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z",
               price=pricing(type_=None, billable=None)),
        status("wamid.F", "acmeCH0001", "delivered", "2026-10-20T10:15:01Z",
               price=pricing("service", "free_customer_service", billable=None)))
    assert set(world.charged()) == {"wamid.R", "wamid.N"}
    assert world.store.outcomes()["wamid.F"] == "free"
