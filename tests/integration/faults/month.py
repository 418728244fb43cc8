"""The month every fault case plays, and the exact outcome each must end with, whatever broke.

A Partner-Paid partner in EUR (channels A, regular, and B, premium, of one client) and a Direct-Paid
partner in USD (channels D and E of one client), all billing from the 1st; a card payment on each
balance; 440 charged messages (sent then delivered, every fourth also read), 40 free and 20 failed
ones: 1,210 statuses. The expected figures are worked out by hand from the rate cards of
`tests/builders.py` and the fees of the contract (§4.2), and written here as literals.
"""

import asyncio
import json
from dataclasses import dataclass, field
from shared.topics import COMMANDS, DIRECTORY, MESSAGE_STATUS, PAYMENTS, RATECARDS
from tests.builders import EUR_CARD, USD_CARD, channel, client, partner, pricing, status

from ..kafka_io import publish
from ..pipeline import a_long_month_after_every_close, connect, start_services
from ..processes import ServiceProcess

Record = tuple[bytes, bytes]
# Charged messages per channel and their category: A 140 × 0.1131 EUR, B 100 × 0.0456 EUR,
# D 120 × 0.1365 USD, E 80 × 0.1365 USD.
CHARGED = {"A": (140, "marketing"), "B": (100, "utility"), "D": (120, "marketing"), "E": (80, "marketing")}


@dataclass
class FaultMonth:
    unique: str
    month: str
    directory: list[Record] = field(default_factory=list)
    payments: list[Record] = field(default_factory=list)
    statuses: list[Record] = field(default_factory=list)

    def id(self, role: str) -> str:
        """The real id of a role in the month: P, Q (partners), C1, C2 (clients), A, B, D, E (channels)."""
        return f"{self.unique}{role}"

    @property
    def close(self) -> Record:
        command = {"type": "month.close", "command_id": f"close-{self.unique}", "month": self.month}
        return self.month.encode(), json.dumps(command).encode()


def fault_month(unique: str, M: str) -> FaultMonth:
    fm = FaultMonth(unique, M)
    P, Q, C1, C2, A, B, D, E = (fm.id(r) for r in ("P", "Q", "C1", "C2", "A", "B", "D", "E"))
    start = f"{M}-01T00:00:00Z"
    fm.directory = [(k.encode(), json.dumps(v).encode()) for k, v in [
        (P, partner(P, "partner_paid", "EUR", created_at=start,
                    billing_address={"country": "DE", "vat_id": "DE123456789"})),
        (P, client(C1, P)),
        (P, channel(A, C1, P, start, "regular")),
        (P, channel(B, C1, P, start, "premium")),
        (Q, partner(Q, "direct_paid", "USD", created_at=start, billing_address={"country": "US", "vat_id": None})),
        (Q, {**client(C2, Q), "billing_address": {"country": "FR", "vat_id": None}}),
        (Q, channel(D, C2, Q, start, "regular")),
        (Q, channel(E, C2, Q, start, "regular")),
    ]]
    fm.payments = [_card(f"{unique}-payP", {"partner_id": P}, "100.00", "EUR", M),
                   _card(f"{unique}-payD", {"channel_id": D}, "50.00", "USD", M),
                   _card(f"{unique}-payE", {"channel_id": E}, "50.00", "USD", M)]
    for role, (count, category) in CHARGED.items():
        ch = fm.id(role)
        for i in range(count):
            at = f"{M}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
            steps = ["sent", "delivered"] + (["read"] if i % 4 == 0 else [])
            fm.statuses += [_status(f"wamid.{unique}.{role}{i}", ch, s, at, pricing(category)) for s in steps]
        for i in range(10):
            at = f"{M}-{3 + i:02d}T11:00:00Z"
            free = pricing("service", "free_customer_service", billable=False)
            fm.statuses += [_status(f"wamid.{unique}.{role}free{i}", ch, s, at, free) for s in ("sent", "delivered")]
        for i in range(5):
            at = f"{M}-{4 + i:02d}T12:00:00Z"
            fm.statuses += [_status(f"wamid.{unique}.{role}fail{i}", ch, "sent", at, pricing(category)),
                            _status(f"wamid.{unique}.{role}fail{i}", ch, "failed", at)]
    return fm


def _status(message_id: str, channel_id: str, state: str, at: str, price: dict | None = None) -> Record:
    return channel_id.encode(), json.dumps(status(message_id, channel_id, state, at, price=price)).encode()


def _card(payment_id: str, account: dict, amount: str, currency: str, M: str) -> Record:
    owner = account.get("partner_id") or account["channel_id"]
    return owner.encode(), json.dumps({
        "type": "payment.succeeded", "payment_id": payment_id, "account": account, "amount": amount,
        "currency": currency, "method": "card", "paid_at": f"{M}-02T08:00:00Z"}).encode()


async def publish_setup(stack, fm: FaultMonth) -> None:
    """Rate cards and the directory: what a month starts from."""
    await publish(stack.bootstrap, RATECARDS.name, [(b"EUR", json.dumps(EUR_CARD).encode()),
                                                    (b"USD", json.dumps(USD_CARD).encode())])
    await publish(stack.bootstrap, DIRECTORY.name, fm.directory)


async def publish_traffic(stack, fm: FaultMonth, statuses: list[Record] | None = None,
                          payments: list[Record] | None = None) -> None:
    await publish(stack.bootstrap, PAYMENTS.name, fm.payments if payments is None else payments)
    await publish(stack.bootstrap, MESSAGE_STATUS.name, fm.statuses if statuses is None else statuses)


async def request_close(stack, fm: FaultMonth) -> None:
    await publish(stack.bootstrap, COMMANDS.name, [fm.close])


async def debits_so_far(stack, fm: FaultMonth) -> int:
    return await _messages_in(stack, fm, "balance.ledger WHERE kind = 'usage' AND business_id")


async def charged_so_far(stack, fm: FaultMonth) -> int:
    return await _messages_in(stack, fm, "usage_ingest.messages WHERE outcome = 'charged' AND message_id")


async def _messages_in(stack, fm: FaultMonth, where_id: str) -> int:
    """How many of the month's messages a table holds (`where_id` names the table, a filter, the id column)."""
    conn = await connect(stack)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {where_id} LIKE $1", f"wamid.{fm.unique}.%")
    finally:
        await conn.close()


CHARGED_MESSAGES = sum(count for count, _ in CHARGED.values())


async def some_debited(stack, fm: FaultMonth) -> bool:
    """Balance has debited part of the month, not all of it."""
    return 0 < await debits_so_far(stack, fm) < CHARGED_MESSAGES


def more_debited_than(stack, fm: FaultMonth, before: int):
    """A check: balance has debited more than `before` (or everything)."""
    async def check() -> bool:
        now = await debits_so_far(stack, fm)
        return now > before or now == CHARGED_MESSAGES
    return check


async def flow(stack, fm: FaultMonth, chunks: int = 12, pause_s: float = 0.25,
               statuses: list[Record] | None = None, payments: list[Record] | None = None) -> None:
    """Publish the payments, then the statuses, a chunk at a time: traffic that is still arriving while
    something breaks."""
    await publish(stack.bootstrap, PAYMENTS.name, fm.payments if payments is None else payments)
    records = fm.statuses if statuses is None else statuses
    size = -(-len(records) // chunks)
    for i in range(0, len(records), size):
        await publish(stack.bootstrap, MESSAGE_STATUS.name, records[i:i + size])
        await asyncio.sleep(pause_s)


async def until(check, what: str, timeout_s: float = 60.0, every_s: float = 0.05) -> None:
    """Wait until the async `check()` is true."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(every_s)
    raise AssertionError(f"timed out waiting until {what}")


async def until_directory_applied(stack, fm: FaultMonth) -> None:
    """Usage ingest knows the four channels and balance has opened the three balances: traffic published
    from now on is processed as it arrives, not held for the directory."""
    async def applied() -> bool:
        conn = await connect(stack)
        try:
            channels = await conn.fetchval("SELECT count(*) FROM usage_ingest.channels WHERE channel_id LIKE $1",
                                           f"{fm.unique}%")
            balances = await conn.fetchval("SELECT count(*) FROM balance.balances WHERE owner_id LIKE $1",
                                           f"{fm.unique}%")
        finally:
            await conn.close()
        return (channels, balances) == (4, 3)

    await until(applied, "the directory is applied", every_s=0.2)


async def month_under_way(stack, unique: str, log_dir,
                          **env: str) -> tuple[FaultMonth, list[ServiceProcess]]:
    """The fault month after every month closed before, its three services started (`env` as for
    `pipeline.service`) and its directory applied: ready for its traffic."""
    fm = fault_month(unique, await a_long_month_after_every_close(stack))
    services = start_services(stack, unique, log_dir, **env)
    await publish_setup(stack, fm)
    await until_directory_applied(stack, fm)
    return fm, services
