"""`billing-stack` (or `python -m deploy.stack`): start, stop and inspect the local stack."""

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import kafka, postgres, security, services
from .process import StackError, port_is_open
from .settings import StackSettings
from .topics import ensure_topics

app = typer.Typer(help="The local stack: Kafka (KRaft), PostgreSQL and the four billing services.",
                  no_args_is_help=True)
console = Console(stderr=True)


def start_infrastructure(s: StackSettings) -> None:
    """Kafka, PostgreSQL and every topic: what the integration tests need."""
    with console.status("Starting Kafka (KRaft)…"):
        kafka.start(s)
    with console.status("Starting PostgreSQL…"):
        postgres.start(s)
    with console.status("Creating topics…"):
        created = asyncio.run(ensure_topics(security.client_settings(s), acls=security.enabled(s)))
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
) -> None:
    """Start everything (idempotent): Kafka, PostgreSQL, topics, then the services."""
    s = StackSettings()
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
    stop_all(StackSettings())


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show what runs and whether each service is ready; exits 1 if anything is down."""
    s = StackSettings()
    rows = [
        ("kafka", kafka.is_running(s) and port_is_open(s.kafka_port), s.kafka_bootstrap),
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
