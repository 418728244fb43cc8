"""`billing positions`: where each consumer group stands in the services' databases, against Kafka.

Every service stores its positions with its effects (`shared/stored_positions.py`).
After a restore from a backup they stand behind Kafka's committed offsets, and
the month close's barrier reads committed offsets: until each service has
rewound them (it does, on its first partition assignment) a close could pass
the barrier before the replay. `rewind` sets every group's committed offsets
back to the stored positions while the services are stopped, so that the
barrier waits from the first moment. Kafka refuses such commits for a group
that has members: the command then says to stop the services first.
"""

import asyncio
import json
from dataclasses import dataclass

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.kafka import client_options
from shared.settings import DatabaseSettings, KafkaSettings

app = typer.Typer(help="Consumer positions stored by the services, against Kafka's committed offsets.",
                  no_args_is_help=True)


@dataclass(frozen=True)
class Position:
    schema: str
    group: str
    tp: TopicPartition
    stored: int
    committed: int | None


async def stored(db: DatabaseSettings) -> dict[tuple[str, str], dict[TopicPartition, int]]:
    """(schema, group) → its stored positions, in every schema that has them."""
    conn = await asyncpg.connect(host=db.host, port=db.port, user=db.user, database=db.name,
                                 password=db.password.get_secret_value())
    try:
        schemas = [r["table_schema"] for r in await conn.fetch(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'consumed_positions' "
            "ORDER BY table_schema")]
        out: dict[tuple[str, str], dict[TopicPartition, int]] = {}
        for schema in schemas:
            for r in await conn.fetch(f'SELECT group_id, topic, partition, next_offset FROM "{schema}".consumed_positions'):
                out.setdefault((schema, r["group_id"]), {})[TopicPartition(r["topic"], r["partition"])] = r["next_offset"]
        return out
    finally:
        await conn.close()


async def compare(db: DatabaseSettings, kafka: KafkaSettings, rewind: bool = False,
                  wait_s: float = 45.0) -> list[Position]:
    """Every stored position with the group's committed offset; with `rewind`, commit the stored position
    wherever Kafka's is ahead (the returned positions are those before)."""
    found: list[Position] = []
    for (schema, group), positions in (await stored(db)).items():
        consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **client_options(kafka))
        await consumer.start()
        try:
            parts = sorted(positions)
            committed = dict(zip(parts, await asyncio.gather(*(consumer.committed(tp) for tp in parts))))
            found += [Position(schema, group, tp, positions[tp], committed[tp]) for tp in parts]
            back = {tp: positions[tp] for tp in parts if committed[tp] is not None and committed[tp] > positions[tp]}
            if rewind and back:
                consumer.assign(list(back))
                await _commit_when_empty(consumer, group, back, wait_s)
        finally:
            await consumer.stop()
    return found


async def _commit_when_empty(consumer: AIOKafkaConsumer, group: str, offsets: dict[TopicPartition, int],
                             wait_s: float) -> None:
    """Kafka takes a commit from outside a group only while the group has no member: a crashed instance
    stays one until its session times out, so this waits up to `wait_s` before giving up."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            await consumer.commit(offsets)
            return
        except KafkaError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Kafka refused to move group {group}'s offsets ({exc!r}): stop the "
                                   "services first (billing-stack stop, or scale them to 0).") from exc
            await asyncio.sleep(1.0)


def _print(rows: list[Position], as_json: bool, rewound: bool) -> None:
    if as_json:
        typer.echo(json.dumps([{"schema": p.schema, "group": p.group, "topic": p.tp.topic, "partition": p.tp.partition,
                                "stored": p.stored, "committed": p.committed} for p in rows], indent=2))
        return
    ahead = [p for p in rows if p.committed is not None and p.committed > p.stored]
    for p in ahead:
        typer.echo(f"{p.group} {p.tp.topic}/{p.tp.partition}: Kafka {p.committed}, database {p.stored}"
                   + (" → rewound" if rewound else ""))
    typer.echo(f"{len(rows)} stored positions, {len(ahead)} behind Kafka's committed offsets"
               + (" (rewound)" if rewound and ahead else ""))


@app.command()
def show(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every stored position against the group's committed offset on Kafka."""
    _print(asyncio.run(compare(DatabaseSettings(), KafkaSettings())), as_json, rewound=False)


@app.command("rewind")
def rewind_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """After a restore, with the services stopped: move Kafka's committed offsets back to the stored positions."""
    try:
        rows = asyncio.run(compare(DatabaseSettings(), KafkaSettings(), rewind=True))
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    _print(rows, as_json, rewound=True)
