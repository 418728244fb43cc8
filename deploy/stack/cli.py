"""`billing-stack` (or `python -m deploy.stack`): start, stop and inspect the local stack."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.settings import DatabaseSettings

from . import backup as backups_
from . import kafka, postgres, security, services
from .process import StackError, port_is_open, read_pid
from .settings import StackSettings
from .topics import ensure_topics

app = typer.Typer(help="The local stack: Kafka (KRaft), PostgreSQL and the four billing services.",
                  no_args_is_help=True)
console = Console(stderr=True)


def stack_settings(brokers: int | None = None) -> StackSettings:
    """The stack's settings; the Kafka node count as asked, else as its storage was formatted."""
    s = StackSettings()
    count = brokers or kafka.formatted_brokers(s)
    return s.model_copy(update={"kafka_brokers": count}) if count and count != s.kafka_brokers else s


def start_infrastructure(s: StackSettings) -> None:
    """Kafka, PostgreSQL and every topic: what the integration tests need."""
    with console.status("Starting Kafka (KRaft)…"):
        kafka.start(s)
    with console.status("Starting PostgreSQL…"):
        postgres.start(s)
    with console.status("Creating topics…"):
        created = asyncio.run(ensure_topics(security.client_settings(s), acls=security.enabled(s),
                                            replication=min(s.kafka_brokers, 3),
                                            window=timedelta(days=s.restore_window_days)))
    console.print(f"[green]✓[/] Kafka on {s.kafka_bootstrap}, PostgreSQL on 127.0.0.1:{s.pg_port}"
                  + (f", {len(created)} topics created" if created else ""))


def stop_all(s: StackSettings) -> None:
    for svc in reversed(services.SERVICES):
        if services.stop(s, svc):
            console.print(f"stopped {svc.name}")
    if kafka.stop(s):
        console.print("stopped Kafka")
    if postgres.stop(s):
        console.print("stopped PostgreSQL")


@app.command()
def start(
    with_services: Annotated[bool, typer.Option("--services/--no-services",
                                                help="Also start the four services.")] = True,
    brokers: Annotated[int | None, typer.Option(
        "--brokers", min=1, max=5, help="Kafka nodes (KRaft, each broker and controller): 3 replicate every topic "
        "3 times with 2 in sync. Default: BILLING_STACK_KAFKA_BROKERS, else 1.")] = None,
) -> None:
    """Start everything (idempotent): Kafka, PostgreSQL, topics, then the services."""
    s = stack_settings(brokers)
    try:
        start_infrastructure(s)
        if with_services:
            for svc in services.SERVICES:
                with console.status(f"Starting {svc.name}…"):
                    services.start(s, svc)
                console.print(f"[green]✓[/] {svc.name} ready on {svc.url('')}")
    except StackError as exc:
        console.print(f"[red]✗ {exc}[/]")
        raise typer.Exit(1) from exc


@app.command()
def stop() -> None:
    """Stop the services, Kafka and PostgreSQL; leaves no process behind. Data is kept."""
    stop_all(stack_settings())


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show what runs and whether each service is ready; exits 1 if anything is down."""
    s = stack_settings()
    rows = [
        (f"kafka {node.n}" if s.kafka_brokers > 1 else "kafka",
         read_pid(node.pid_file) is not None and port_is_open(node.port), f"127.0.0.1:{node.port}")
        for node in kafka.nodes(s)
    ] + [
        ("postgres", postgres.is_running(s) and port_is_open(s.pg_port),
         f"127.0.0.1:{s.pg_port} (data in {postgres.data_dir(s)})"),
    ]
    rows += [(svc.name, services.is_running(s, svc) and services.is_ready(svc), svc.url("/health/ready"))
             for svc in services.SERVICES]
    if as_json:
        typer.echo(json.dumps([{"part": name, "healthy": ok, "where": where} for name, ok, where in rows],
                              indent=2))
    else:
        table = Table("part", "state", "where")
        for name, ok, where in rows:
            table.add_row(name, "[green]healthy[/]" if ok else "[red]down[/]", where)
        Console().print(table)
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)


def database_of(s: StackSettings) -> DatabaseSettings:
    return DatabaseSettings(host="127.0.0.1", port=s.pg_port, name=s.pg_database, user=s.pg_user,
                            password=s.pg_password)


@app.command()
def backup(keep: Annotated[int | None, typer.Option(help="Then keep only the newest N base backups (and the "
                                                    "archived WAL they need).")] = None) -> None:
    """Take a base backup of the running PostgreSQL into the stack's backups folder (WAL is archived
    continuously; docs/operations.md, "Backups")."""
    s = stack_settings()
    try:
        with console.status("Taking a base backup…"):
            taken = backups_.backup(s, keep)
    except StackError as exc:
        console.print(f"[red]✗ {exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] base backup {taken.name}: {taken.size_bytes / 2**20:.1f} MiB in "
                  f"{(taken.finished_at - taken.started_at).total_seconds():.1f}s, in {taken.folder(s)}")


@app.command("backups")
def list_backups() -> None:
    """The base backups and the WAL archive: what a restore can reach."""
    s = stack_settings()
    table = Table("base backup", "finished at (UTC)", "MiB", "first WAL needed")
    for b in backups_.backups(s):
        table.add_row(b.name, f"{b.finished_at:%Y-%m-%d %H:%M:%S}", f"{b.size_bytes / 2**20:.1f}", b.start_wal)
    Console().print(table)
    wal = sorted(f.name for f in postgres.archive_dir(s).glob("*") if backups_.WAL_FILE.match(f.name))
    console.print(f"WAL archive {postgres.archive_dir(s)}: {len(wal)} files"
                  + (f", {wal[0]} … {wal[-1]}" if wal else ""))


@app.command()
def restore(
    to: Annotated[str | None, typer.Option(
        "--to", help="Recover up to this time, ISO 8601 with a zone (2026-11-30T02:15:00Z); default: all that "
        "was archived.")] = None,
    base_only: Annotated[bool, typer.Option(
        "--base-only", help="Only the base backup, none of the archived WAL after it (the archive is lost too).")
    ] = False,
    name: Annotated[str | None, typer.Option("--backup", help="The base backup to start from (billing-stack "
                                             "backups); default: the newest that fits.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a base backup and recover it, then set Kafka's consumer groups back to the
    positions it stored. The services are stopped and left stopped: start them with `billing-stack start`."""
    s = stack_settings()
    try:
        target = datetime.fromisoformat(to.replace("Z", "+00:00")) if to else None
    except ValueError as exc:
        console.print(f"[red]✗ --to {to!r} is not an ISO 8601 time (e.g. 2026-11-30T02:15:00Z).[/]")
        raise typer.Exit(2) from exc
    if not yes:
        typer.confirm(f"Replace the database in {postgres.data_dir(s)} (kept aside) with a backup?", abort=True)
    try:
        for svc in reversed(services.SERVICES):
            if services.stop(s, svc):
                console.print(f"stopped {svc.name}")
        with console.status("Restoring PostgreSQL…"):
            chosen = backups_.restore(s, target, base_only, name)
        console.print(f"[green]✓[/] restored from {chosen.name}"
                      + (" (base backup only)" if base_only else f" up to {to}" if to else " and all archived WAL"))
        kafka.start(s)
        rewind_consumer_groups(s)
    except StackError as exc:
        console.print(f"[red]✗ {exc}[/]")
        raise typer.Exit(1) from exc
    console.print("Next: billing-stack start, then billing reconcile (docs/operations.md, \"Restoring\").")


def rewind_consumer_groups(s: StackSettings) -> None:
    from ops.positions import compare

    moved = [p for p in asyncio.run(compare(database_of(s), security.client_settings(s), rewind=True))
             if p.committed is not None and p.committed > p.stored]
    console.print(f"[green]✓[/] {len(moved)} partitions of {len({p.group for p in moved})} consumer groups set "
                  "back to the positions the database stored")
