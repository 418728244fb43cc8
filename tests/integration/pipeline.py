"""The three services as one pipeline on the real stack: start them, pick a month, look at the results."""

import asyncio
import calendar
import json

import asyncpg

from shared.months import next_month
from shared.topics import COMMANDS, LEDGER_CLOSE

from .conftest import service_env
from .kafka_io import collect
from .processes import ServiceProcess

SERVICES = {"usage_ingest": "BILLING_USAGE_INGEST_", "balance": "BILLING_BALANCE_",
            "invoicing": "BILLING_INVOICING_"}


def groups_of(unique: str) -> dict[str, str]:
    return {name: f"test-{name}-{unique}" for name in SERVICES}


def service(stack, unique: str, name: str, log_dir, instance: str = "", **env: str) -> ServiceProcess:
    """One instance of a service in this test's consumer group (not started). `env` keys are the settings'
    names without the service prefix (`BATCH_MAX_RECORDS="50"`)."""
    prefix, groups = SERVICES[name], groups_of(unique)
    settings = {f"{prefix}GROUP_ID": groups[name], f"{prefix}SWEEP_INTERVAL_S": "0.5"}
    if name == "invoicing":
        settings |= {f"{prefix}AUTO_CLOSE": "false", f"{prefix}INGEST_GROUP_ID": groups["usage_ingest"],
                     f"{prefix}BALANCE_GROUP_ID": groups["balance"]}
    settings |= {f"{prefix}{key}": value for key, value in env.items()}
    return ServiceProcess(f"services.{name}", service_env(stack, prefix, **settings), f"{prefix}HTTP_PORT",
                          log_dir / f"{name}{instance}.log")


def start_services(stack, unique: str, log_dir, **env: str) -> list[ServiceProcess]:
    """usage ingest, balance and invoicing, one instance each, started together."""
    started = [service(stack, unique, name, log_dir, **env).spawn() for name in SERVICES]
    return [s.wait_ready() for s in started]


async def a_long_month_after_every_close(stack) -> str:
    """A 31-day month after every month closed on this broker before (a fresh database replays them)."""
    seen = [json.loads(r.value).get("month", "") for topic in (LEDGER_CLOSE.name, COMMANDS.name)
            for r in await collect(stack.bootstrap, topic, lambda r: True, 1_000_000, timeout_s=2)]
    month = next_month(max([m for m in seen if m] + ["2031-01"]))
    while calendar.monthrange(int(month[:4]), int(month[5:]))[1] != 31:
        month = next_month(month)
    return month


async def connect(stack) -> asyncpg.Connection:
    return await asyncpg.connect(host=stack.db.host, port=stack.db.port, user=stack.db.user,
                                 password=stack.db.password.get_secret_value(), database=stack.db.name)


async def numbers_have_no_gap(stack) -> None:
    conn = await connect(stack)
    try:
        rows = await conn.fetch("SELECT number FROM invoicing.invoices")
    finally:
        await conn.close()
    by_year: dict[str, list[int]] = {}
    for r in rows:
        series, year, n = r["number"].split("-")  # INV and CN: a sequence each
        by_year.setdefault(f"{series}-{year}", []).append(int(n))
    for year, numbers in by_year.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap or repeat in {year}"


async def until_close_state(stack, month: str, states: tuple[str, ...], timeout_s: float = 60) -> None:
    conn = await connect(stack)
    try:
        for _ in range(int(timeout_s / 0.05)):
            if await conn.fetchval("SELECT state FROM invoicing.closes WHERE month = $1", month) in states:
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
