"""The PostgreSQL server: Debian's binaries, a project-local data folder, one database.

PostgreSQL refuses to run as root, so when the stack is started by root the
server runs as the `postgres` system user that Debian's package creates.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .process import StackError, port_is_open, read_pid, spawn, stop_pid, wait_until
from .settings import StackSettings

SERVER_USER = "postgres"


def _as_root() -> bool:
    return os.geteuid() == 0


def find_bin(s: StackSettings) -> Path:
    """The folder holding `postgres`, `initdb` and `pg_ctl`; installs Debian's package if root may."""
    if s.pg_bin is not None:
        return s.pg_bin
    found = _find_debian_bin()
    if found is None and _as_root() and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        result = subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"],
                                capture_output=True, text=True,
                                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if result.returncode != 0:
            raise StackError("Installing PostgreSQL with apt-get failed:\n" + result.stderr[-1500:])
        found = _find_debian_bin()
    if found is None:
        raise StackError("PostgreSQL's server binaries were not found. Install Debian's `postgresql` "
                         "package or set BILLING_STACK_PG_BIN to the folder holding `postgres`.")
    return found


def _find_debian_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return candidates[-1].parent if candidates else None


def data_dir(s: StackSettings) -> Path:
    """The data folder: under the project, unless root runs us where `postgres` cannot reach."""
    local = s.dir / "postgres"
    if not _as_root() or _reachable_by_server_user(s.dir):
        return local
    digest = hashlib.sha256(str(s.dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"wa-billing-{digest}" / "postgres"


def _reachable_by_server_user(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", SERVER_USER, "--", "test", "-x", str(folder)],
                           capture_output=True)
    return probe.returncode == 0


def _run_as_server(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if _as_root():
        cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def backups_dir(s: StackSettings) -> Path:
    """Base backups (`base/`) and the WAL archive (`wal/`), next to the data folder, the server's own."""
    return data_dir(s).parent / "backups"


def archive_dir(s: StackSettings) -> Path:
    return backups_dir(s) / "wal"


def _archiving(s: StackSettings) -> list[str]:
    """Continuous archiving: every WAL segment is copied to the archive once complete, or after
    `pg_archive_timeout_s` with writes in it (the recovery point objective); never over an archived one."""
    if not s.pg_archive:
        return []
    folder = archive_dir(s)
    folder.mkdir(parents=True, exist_ok=True)
    if _as_root():
        for path in (folder.parent, folder):
            shutil.chown(path, SERVER_USER, SERVER_USER)
    return ["-c", "archive_mode=on", "-c", f"archive_timeout={s.pg_archive_timeout_s}",
            "-c", f"archive_command=test ! -f '{folder}/%f' && cp '%p' '{folder}/%f'"]


def own_data(folder: Path, recursive: bool = True) -> None:
    """Give `folder` (and, recursively, what it holds) to the server's user, readable by it alone."""
    if _as_root():
        for path in [folder, *(folder.rglob("*") if recursive else [])]:
            shutil.chown(path, SERVER_USER, SERVER_USER)
    folder.chmod(0o700)


def run_as_server(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run one of PostgreSQL's tools as the server's user (root may not)."""
    return _run_as_server(cmd, **kw)


def _pid_file(s: StackSettings) -> Path:
    return data_dir(s) / "postmaster.pid"


def is_running(s: StackSettings) -> bool:
    # postmaster.pid's first line is the server's own pid.
    return read_pid(_pid_file(s)) is not None


def _init(s: StackSettings, bin_dir: Path, data: Path) -> None:
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    if _as_root():
        shutil.chown(data, SERVER_USER, SERVER_USER)
    result = _run_as_server([str(bin_dir / "initdb"), "-D", str(data), "-U", SERVER_USER,
                             "--auth-local=trust", "--auth-host=scram-sha-256",
                             "--encoding=UTF8", "--locale=C.UTF-8"])
    if result.returncode != 0:
        raise StackError("initdb failed:\n" + (result.stdout + result.stderr)[-2000:])
    # Small machine, short transactions, many small commits: sized for 2 cores.
    with open(data / "postgresql.auto.conf", "a") as conf:
        conf.write("\n".join([
            "listen_addresses = '127.0.0.1'",
            f"port = {s.pg_port}",
            f"unix_socket_directories = '{data}'",
            "max_connections = 200",
            "shared_buffers = 256MB",
            "synchronous_commit = on",
            "log_min_messages = warning",
            "",
        ]))


def start(s: StackSettings) -> None:
    """Start the server unless ours runs; create the role and database; wait until it answers."""
    data = data_dir(s)
    if not is_running(s):
        if port_is_open(s.pg_port):
            raise StackError(f"Port {s.pg_port} is taken by another process, so PostgreSQL cannot "
                             "listen there. Stop it, or choose another with BILLING_STACK_PG_PORT.")
        bin_dir = find_bin(s)
        _init(s, bin_dir, data)
        log = s.logs / "postgres.log"
        s.logs.mkdir(parents=True, exist_ok=True)
        cmd = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(s.pg_port), *_archiving(s)]
        if _as_root():
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        spawn(cmd, log, s.dir / "postgres-launcher.pid")
        wait_until(lambda: _accepts(s, data), s.start_timeout_s, "PostgreSQL",
                   alive=lambda: read_pid(s.dir / "postgres-launcher.pid") is not None, log_file=log)
    _ensure_database(s, data)


def _psql(s: StackSettings, data: Path, sql: str, db: str = "postgres") -> subprocess.CompletedProcess:
    return _run_as_server([str(find_bin(s) / "psql"), "-h", str(data), "-p", str(s.pg_port),
                           "-U", SERVER_USER, "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])


def superuser_sql(s: StackSettings, sql: str) -> str:
    """Run `sql` as the server's superuser over its socket; its output, or StackError."""
    result = _psql(s, data_dir(s), sql)
    if result.returncode != 0:
        raise StackError(f"{sql}: {result.stderr.strip()}")
    return result.stdout.strip()


def _accepts(s: StackSettings, data: Path) -> bool:
    return _psql(s, data, "select 1").returncode == 0


def _ensure_database(s: StackSettings, data: Path) -> None:
    user, password, db = s.pg_user, s.pg_password.get_secret_value(), s.pg_database
    role = _psql(s, data, f"select 1 from pg_roles where rolname = '{user}'")
    verb = "alter" if role.stdout.strip() == "1" else "create"
    # CREATEDB lets the integration tests give a test a database of its own; CREATEROLE lets the
    # database's owner create the per-service roles (deploy/security/postgres-roles.sql).
    steps = [f"{verb} role \"{user}\" login createdb createrole password '{password}'"]
    exists = _psql(s, data, f"select 1 from pg_database where datname = '{db}'")
    if exists.stdout.strip() != "1":
        steps.append(f'create database "{db}" owner "{user}"')
    for sql in steps:
        result = _psql(s, data, sql)
        if result.returncode != 0:
            raise StackError(f"PostgreSQL set-up failed ({sql.split(' password')[0]}): {result.stderr.strip()}")


def stop(s: StackSettings) -> bool:
    if not is_running(s):
        return False
    data = data_dir(s)
    result = _run_as_server([str(find_bin(s) / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    if result.returncode != 0:
        stop_pid(s.dir / "postgres-launcher.pid")
    (s.dir / "postgres-launcher.pid").unlink(missing_ok=True)
    return True
