"""`billing deadletters`: list dead letters by topic and code, show one, replay chosen ones after a fix.

A dead letter is named by its topic and its offset in that topic's DLQ (each
DLQ has one partition). Replay republishes the ORIGINAL record, its value
bytes, key and headers read back from the source topic at the position the
letter names, to the topic it came from; only when the source has expired is
the letter's payload text used instead. Replaying twice is harmless: the
services apply each business id (status id, payment id, refund id, command
id, directory upsert) once.
"""

import json

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts import DeadLetter, ErrorCode
from shared.kafka import client_options
from shared.topics import ALL_TOPICS

from .common import (CliSettings, JsonOption, Tick, emit_json, err, fail, out, progress, run, settings, started,
                     table)
from .replay import Letter, describe, once, originals, precheck, republish

app = typer.Typer(help="Dead letters: list, show, replay after a fix.", no_args_is_help=True)

SOURCES = {t.name: t for t in ALL_TOPICS if t.has_dlq}


def source_topic(name: str) -> str:
    """The topic a DLQ belongs to, given either name; exit 2 naming the valid ones."""
    name = name.removesuffix(".dlq")
    if name not in SOURCES:
        fail(f"no dead-letter topic for {name!r}; one of: {', '.join(SOURCES)}")
    return name


def code_of(value: str | None) -> str | None:
    if value is not None and value not in {c.value for c in ErrorCode}:
        fail(f"--code {value!r} is not an error code; one of: {', '.join(c.value for c in ErrorCode)}")
    return value


async def read_dlq(s: CliSettings, topic: str, tick: Tick, offsets: set[int] | None = None) -> list[Letter]:
    """Every dead letter of `topic` (or those at `offsets`) as (DLQ offset, letter)."""
    consumer = await started(AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **client_options(s.kafka)), s)
    try:
        tp = TopicPartition(SOURCES[topic].dlq, 0)
        consumer.assign([tp])
        start = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        first = max(start, min(offsets)) if offsets else start
        consumer.seek(tp, first)
        tick.grow(max(end - first, 0))
        found: list[Letter] = []
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                tick(1)
                if record.offset < end and (offsets is None or record.offset in offsets):
                    found.append((topic, record.offset, DeadLetter.model_validate_json(record.value)))
            if offsets and found and len(found) == len(offsets):
                break
        return found
    finally:
        await consumer.stop()


def scan(topics: list[str], offsets: set[int] | None = None) -> list[Letter]:
    s = settings()
    letters: list[Letter] = []
    with progress("Reading dead letters", 0) as tick:
        for topic in topics:
            letters += run(read_dlq(s, topic, tick, offsets))
    return letters


def _select(topic: str | None, code: str | None, key: str | None, offsets: list[int]) -> list[Letter]:
    topics = [source_topic(topic)] if topic else list(SOURCES)
    code = code_of(code)
    found = scan(topics, set(offsets) if offsets else None)
    return [(t, o, d) for t, o, d in found
            if (code is None or d.error.code == code) and (key is None or d.source.key == key)]


@app.command("list")
def list_(
    topic: str = typer.Option(None, help="Only the dead letters of this topic (with or without .dlq)."),
    code: str = typer.Option(None, help="Only this error code (unknown_account, schema_invalid, ...)."),
    key: str = typer.Option(None, help="Only records with this key (a partner, channel, currency, ...)."),
    limit: int = typer.Option(50, help="Show at most the last N."),
    as_json: bool = JsonOption,
) -> None:
    """Dead letters by topic and error code: the latest --limit of them, oldest first."""
    letters = sorted(_select(topic, code, key, []), key=lambda letter: letter[2].failed_at)
    rows = [describe(*letter) for letter in letters][-limit:] if limit > 0 else []
    if as_json:
        emit_json(rows)
        return
    table(f"{len(rows)} dead letter(s)", ("topic", "dlq offset", "code", "message", "source", "key", "failed at"),
          [(r["topic"], r["dlq_offset"], r["code"], r["message"][:80],
            f"{r['source_partition']}:{r['source_offset']}", r["key"], r["failed_at"]) for r in rows])


@app.command()
def show(
    topic: str = typer.Argument(..., help="The topic (with or without .dlq)."),
    offset: int = typer.Argument(..., help="The dead letter's offset in the DLQ (from `list`)."),
    as_json: bool = JsonOption,
) -> None:
    """One dead letter in full: why, where from, and the refused payload."""
    found = _select(topic, None, None, [offset])
    if not found:
        fail(f"no dead letter at offset {offset} of {source_topic(topic)}.dlq", code=1)
    t, o, letter = found[0]
    if as_json:
        emit_json({**describe(t, o, letter), "payload": letter.payload})
        return
    out.print(f"[bold]{t}.dlq offset {o}[/]: [red]{letter.error.code.value}[/] {letter.error.message}\n"
              f"from {t} partition {letter.source.partition} offset {letter.source.offset}, key "
              f"{letter.source.key}, refused at {letter.failed_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
    try:
        out.print_json(letter.payload)
    except (json.JSONDecodeError, ValueError):
        out.print(letter.payload, markup=False, highlight=False)


@app.command()
def replay(
    topic: str = typer.Argument(..., help="The topic whose dead letters to replay (with or without .dlq)."),
    code: str = typer.Option(None, help="Only letters with this error code."),
    offset: list[int] = typer.Option([], "--offset", help="Only the letter at this DLQ offset; repeatable."),
    key: str = typer.Option(None, help="Only letters of records with this key."),
    everything: bool = typer.Option(False, "--all", help="Every letter of the topic (no other filter needed)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be replayed; publish nothing."),
    force: bool = typer.Option(False, help="Replay records that still break the contract."),
    as_json: bool = JsonOption,
) -> None:
    """Republish chosen dead letters' original records to their topic, after the cause was fixed."""
    if not (code or offset or key or everything):
        fail("choose what to replay: --code, --offset, --key, or --all for every dead letter of the topic")
    s = settings()
    chosen = {(t, d.source.partition, d.source.offset): (t, o, d)
              for t, o, d in _select(topic, code, key, offset)}  # one replay per source record, the latest
    if not chosen:
        fail("no dead letter matches", code=1)
    plans = run(originals(s, sorted(chosen.values(), key=lambda letter: letter[1])))
    once(plans)
    for plan in plans:
        precheck(plan, force, s.kafka.max_message_bytes)
    if not dry_run:
        run(republish(s, plans))
    report = [{k: v for k, v in p.items() if k not in ("key", "value", "headers")} | {"key": p.get("key")}
              for p in plans]
    for r in report:
        r["key"] = r["key"].decode(errors="replace") if isinstance(r["key"], bytes) else r["key"]
    if as_json:
        emit_json({"dry_run": dry_run, "letters": report})
        return
    table(f"{'would replay' if dry_run else 'replayed'} to {source_topic(topic)}",
          ("dlq offset", "code", "source", "key", "from", "result"),
          [(r["dlq_offset"], r["code"], f"{r['source_partition']}:{r['source_offset']}", r["key"], r["from"],
            r.get("skip") or (f"→ partition {r['replayed_partition']} offset {r['replayed_offset']}"
                              if "replayed_offset" in r else "ready")) for r in report])
    skipped = sum("skip" in r for r in report)
    err.print(f"{len(report) - skipped} replayed, {skipped} skipped" if not dry_run else
              f"dry run: {len(report) - skipped} would be replayed, {skipped} skipped", highlight=False)
