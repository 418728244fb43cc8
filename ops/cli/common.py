"""What every `billing` command shares: settings, input validation, output, the database and Kafka.

Reads go to PostgreSQL (the services' schemas, read only); every change goes
through a Kafka topic, as the Hub, the pricing team or the payment provider
would send it, so the services stay the only writers of their tables.
"""

import asyncio
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.contracts import ContractModel, describe_errors, encode
from shared.kafka import client_options
from shared.settings import DatabaseSettings, KafkaSettings

M = TypeVar("M", bound=BaseModel)

# aiokafka logs every failed connection attempt; the command reports the failure once, itself.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout instead of tables.")


class CliSettings(BaseSettings):
    """Where the `billing` command reaches Kafka (`BILLING_KAFKA_*`) and PostgreSQL (`BILLING_DB_*`)."""

    model_config = SettingsConfigDict(env_prefix="BILLING_CLI_", env_file=".env", extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka connection.")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings, description="PostgreSQL connection.")
    timeout_s: float = Field(15.0, description="How long a command waits for Kafka or PostgreSQL to answer.")


def settings() -> CliSettings:
    return CliSettings()


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit: 2 for bad input, 1 when the system says no."""
    err.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def readable(exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """`--country: String should match pattern ...` from pydantic's errors, field by field."""
    text = describe_errors(exc.errors(include_url=False, include_input=False))
    for field, option in (names or {}).items():
        text = text.replace(f"{field}: ", f"{option}: ")
    return text


def validated(model: type[M], data: dict[str, Any], what: str, names: dict[str, str] | None = None) -> M:
    """`data` as the contract model, or exit 2 saying which field is wrong and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fail(f"invalid {what}: {readable(exc, names)}")


def amount(value: str, what: str = "amount") -> Decimal:
    """A positive amount with a dot and at most 6 decimals, as the contract writes money."""
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        fail(f"{what} must be a decimal number with a dot, such as 100.00 (got {value!r})")
    parsed = Decimal(value)
    if parsed <= 0:
        fail(f"{what} must be positive (got {value})")
    if parsed != parsed.quantize(Decimal("0.000001")):
        fail(f"{what} has more than 6 decimal places: {value}")
    return parsed


def to_jsonable(value: Any) -> Any:
    """Decimals as exact strings (never floats), everything else as JSON would write it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(*columns, title=title)
    for row in rows:
        t.add_row(*("" if v is None else str(to_jsonable(v)) for v in row))
    out.print(t)


class Tick:
    """Advances a progress bar; `grow` adds work found on the way (another topic's records)."""

    def __init__(self, bar: Progress, task: Any) -> None:
        self._bar, self._task = bar, task

    def __call__(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)

    def grow(self, n: int) -> None:
        total = self._bar.tasks[0].total or 0
        self._bar.update(self._task, total=total + n)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Tick]:
    """A rich progress bar on a terminal (stderr); nothing when output goes to a file or a pipe."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    with bar:
        yield Tick(bar, bar.add_task(description, total=total))


def run(coro: Any) -> Any:
    """Run a command's async work; a server that does not answer is one line and exit 1."""
    try:
        return asyncio.run(coro)
    except asyncpg.UndefinedTableError as exc:
        fail(f"{exc}: the services have not created their tables in this database yet "
             "(start them once: `billing stack start`)", code=1)
    except (OSError, asyncpg.PostgresError, KafkaError, TimeoutError) as exc:
        text = str(exc) or "no answer"
        name = type(exc).__name__
        fail(f"{text if text.startswith(name) else f'{name}: {text}'} (check BILLING_KAFKA_* / BILLING_DB_* and "
             "`billing stack status`)", code=1)


async def connect(s: CliSettings) -> asyncpg.Connection:
    db = s.db
    return await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value(), timeout=s.timeout_s,
                                 command_timeout=db.command_timeout_s)


async def fetch(s: CliSettings, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(s)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def started(client: Any, s: CliSettings) -> Any:
    """An aiokafka producer or consumer, started; closed again if it cannot start."""
    try:
        await asyncio.wait_for(client.start(), s.timeout_s)
    except BaseException:
        await client.stop()
        raise
    return client


def producer(s: CliSettings) -> AIOKafkaProducer:
    """Safe for money: every write waits for all in-sync replicas and is idempotent."""
    return AIOKafkaProducer(acks="all", enable_idempotence=True, request_timeout_ms=int(s.timeout_s * 1000),
                            max_request_size=2 * 1024 * 1024, **client_options(s.kafka))


async def publish(s: CliSettings, topic: str, records: Sequence[tuple[bytes | None, bytes]],
                  headers: Sequence[tuple[str, bytes]] = ()) -> list[Any]:
    """Publish (key, value) records in order; return where each landed (topic, partition, offset)."""
    p = await started(producer(s), s)
    try:
        futures = [await p.send(topic, value=v, key=k, headers=list(headers) or None) for k, v in records]
        return [await f for f in futures]
    finally:
        await p.stop()


def publish_models(s: CliSettings, topic: str, key: str, model: ContractModel, as_json: bool, what: str,
                   show: bool = True) -> Any:
    """Publish one contract message, say where it landed (unless not `show`), return that place."""
    [meta] = run(publish(s, topic, [(key.encode(), encode(model))]))
    if not show:
        return meta
    if as_json:
        emit_json({"published": json.loads(encode(model)), "topic": meta.topic, "partition": meta.partition,
                   "offset": meta.offset, "key": key})
    else:
        out.print(f"[green]✓[/] {what} published to {meta.topic} (partition {meta.partition}, "
                  f"offset {meta.offset}, key {key})", highlight=False)
    return meta
