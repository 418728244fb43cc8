"""Base backups and point-in-time recovery of the stack's PostgreSQL (docs/operations.md, "Backups").

The server archives every WAL segment into `<backups>/wal` (deploy/stack/postgres.py). A base
backup is `pg_basebackup` into `<backups>/base/<time>/` as compressed tar files, with the WAL
it needs streamed alongside, so each backup restores on its own. A restore replaces the data
folder with a base backup and lets the server replay the archive up to the end, up to a time
(`recovery_target_time`), or not at all (`--base-only`, as if the archive were lost too), then
promote itself onto a new timeline. The data folder it replaces is kept aside, and its WAL
not archived yet is replayed too on a full restore.
"""

import json
import re
import shutil
import tarfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import postgres
from .process import StackError
from .settings import StackSettings

RECOVERY_MARK = "# billing-stack restore: removed once the server is promoted"
WAL_FILE = re.compile(r"^[0-9A-F]{24}$|^[0-9A-F]{8}\.history$")


@dataclass(frozen=True)
class Backup:
    name: str
    started_at: datetime
    finished_at: datetime
    start_wal: str  # the first WAL file it needs: the archive before it is no longer needed
    size_bytes: int

    def folder(self, s: StackSettings) -> Path:
        return postgres.backups_dir(s) / "base" / self.name


def backups(s: StackSettings) -> list[Backup]:
    """The base backups, oldest first."""
    found = []
    for meta in sorted((postgres.backups_dir(s) / "base").glob("*/backup.json")):
        data = json.loads(meta.read_text())
        found.append(Backup(data["name"], datetime.fromisoformat(data["started_at"]),
                            datetime.fromisoformat(data["finished_at"]), data["start_wal"], data["size_bytes"]))
    return sorted(found, key=lambda b: b.finished_at)


def backup(s: StackSettings, keep: int | None = None) -> Backup:
    """Take a base backup of the running server; with `keep`, delete all but the newest `keep` backups and
    the archived WAL only they needed."""
    if not postgres.is_running(s):
        raise StackError("PostgreSQL is not running: start the stack first (billing-stack start).")
    started = datetime.now(UTC)
    name = started.strftime("%Y%m%dT%H%M%S.%fZ")
    target = postgres.backups_dir(s) / "base" / name
    _owned_folder(target.parent)
    bin_dir = postgres.find_bin(s)
    result = postgres.run_as_server([
        str(bin_dir / "pg_basebackup"), "-h", str(postgres.data_dir(s)), "-p", str(s.pg_port), "-U",
        postgres.SERVER_USER, "-D", str(target), "-Ft", "-z", "-X", "stream", "--checkpoint=fast",
        "-l", f"billing-stack {name}"])
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise StackError("pg_basebackup failed:\n" + (result.stdout + result.stderr)[-2000:])
    taken = Backup(name, started, datetime.now(UTC), _start_wal(target / "backup_manifest"),
                   sum(f.stat().st_size for f in target.iterdir()))
    (target / "backup.json").write_text(json.dumps(asdict(taken), default=str, indent=2))
    if keep is not None:
        prune(s, keep)
    return taken


def archive_now(s: StackSettings, timeout_s: float = 60.0) -> str:
    """Close the current WAL segment and wait until it is archived: everything committed so far can be
    recovered from the archive (before a planned restore, or to pin a recovery point)."""
    segment = postgres.superuser_sql(s, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + timeout_s
    while not (postgres.archive_dir(s) / segment).exists():
        if time.monotonic() > deadline:
            raise StackError(f"WAL segment {segment} was not archived within {timeout_s:.0f}s: see the "
                             "server's log (archive_command).")
        time.sleep(0.1)
    return segment


def _start_wal(manifest: Path) -> str:
    """The WAL file holding the backup's start (16 MiB segments): from the manifest's first WAL range."""
    first = json.loads(manifest.read_text())["WAL-Ranges"][0]
    high, low = (int(x, 16) for x in first["Start-LSN"].split("/"))
    return f"{first['Timeline']:08X}{high:08X}{low >> 24:08X}"


def prune(s: StackSettings, keep: int) -> list[str]:
    """Delete every base backup but the newest `keep`, and the archived WAL older than the oldest kept."""
    if keep < 1:
        raise StackError("--keep must be at least 1: a restore needs a base backup.")
    every = backups(s)
    gone = every[:-keep]
    for b in gone:
        shutil.rmtree(b.folder(s))
    if gone:
        oldest = every[-keep]
        postgres.run_as_server([str(postgres.find_bin(s) / "pg_archivecleanup"), str(postgres.archive_dir(s)),
                                oldest.start_wal])
    return [b.name for b in gone]


def choose(s: StackSettings, to: datetime | None, name: str | None) -> Backup:
    every = backups(s)
    if not every:
        raise StackError(f"No base backup in {postgres.backups_dir(s) / 'base'}: nothing to restore from.")
    if name is not None:
        named = [b for b in every if b.name == name]
        if not named:
            raise StackError(f"No base backup named {name}; there are: {', '.join(b.name for b in every)}")
        return named[0]
    if to is None:
        return every[-1]
    before = [b for b in every if b.finished_at <= to]
    if not before:
        raise StackError(f"No base backup finished before {to.isoformat()}; the oldest finished at "
                         f"{every[0].finished_at.isoformat()}.")
    return before[-1]


def restore(s: StackSettings, to: datetime | None = None, base_only: bool = False, name: str | None = None) -> Backup:
    """Replace the data folder with a base backup and recover: to the end of the archive, to `to`, or
    (`base_only`) to the end of the backup alone. The server is left running, promoted."""
    if to is not None and to.tzinfo is None:
        raise StackError("--to needs a time zone (e.g. 2026-11-30T02:15:00Z).")
    chosen = choose(s, to, name)
    postgres.stop(s)
    data = postgres.data_dir(s)
    aside = data.with_name(f"{data.name}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    if data.exists():
        data.rename(aside)
    data.mkdir(parents=True)
    with tarfile.open(chosen.folder(s) / "base.tar.gz") as tar:
        tar.extractall(data, filter="fully_trusted")
    with tarfile.open(chosen.folder(s) / "pg_wal.tar.gz") as tar:
        tar.extractall(data / "pg_wal", filter="fully_trusted")
    if aside.exists() and to is None and not base_only:
        _salvage_wal(aside / "pg_wal", data / "pg_wal")
    _recovery_settings(s, data, to, base_only)
    postgres.own_data(data)
    postgres.start(s)
    _forget_recovery_settings(data)
    return chosen


def _salvage_wal(old: Path, new: Path) -> None:
    """WAL the old server wrote but had not archived yet (its disk survived): replayed after the archive."""
    for f in old.iterdir() if old.is_dir() else []:
        if WAL_FILE.match(f.name) and not (new / f.name).exists():
            shutil.copy2(f, new / f.name)


def _recovery_settings(s: StackSettings, data: Path, to: datetime | None, base_only: bool) -> None:
    lines = [RECOVERY_MARK,
             f"restore_command = 'cp \"{postgres.archive_dir(s)}/%f\" \"%p\"'",
             "recovery_target_action = 'promote'",
             "hot_standby = off"]  # no connection before the promotion: start() waits for a writable server
    if base_only:
        lines.append("recovery_target = 'immediate'")
    elif to is not None:
        lines.append(f"recovery_target_time = '{to.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}+00'")
    with open(data / "postgresql.auto.conf", "a") as conf:
        conf.write("\n" + "\n".join(lines) + "\n")
    (data / "recovery.signal").touch()


def _forget_recovery_settings(data: Path) -> None:
    conf = data / "postgresql.auto.conf"
    text = conf.read_text()
    conf.write_text(text.split("\n" + RECOVERY_MARK)[0] + "\n")


def _owned_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    postgres.own_data(folder, recursive=False)
