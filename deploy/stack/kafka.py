"""The Kafka broker: jars resolved from Maven Central, storage formatted once, run with java."""

import base64
import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path
from string import Template

from . import security
from .process import StackError, port_is_open, read_pid, spawn, stop_pid, wait_until
from .settings import PROJECT_ROOT, StackSettings

KAFKA_DIR = PROJECT_ROOT / "deploy" / "kafka"
POM = KAFKA_DIR / "pom.xml"


def _home(s: StackSettings) -> Path:
    return s.dir / "kafka"


def _pid_file(s: StackSettings) -> Path:
    return _home(s) / "kafka.pid"


def _log_file(s: StackSettings) -> Path:
    return s.logs / "kafka.log"


def check_java(s: StackSettings) -> None:
    if shutil.which(s.java) is None:
        raise StackError(f"Java was not found ({s.java!r}). Install a JDK 17+ "
                         "(Debian: apt-get install openjdk-17-jre-headless) or set BILLING_STACK_JAVA.")
    out = subprocess.run([s.java, "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        return
    if major < 17:
        raise StackError(f"Kafka 4 needs Java 17 or newer; {s.java} is {major}. Set BILLING_STACK_JAVA.")


def resolve_jars(s: StackSettings) -> Path:
    """Copy the broker's jars from Maven Central once per version of the pom."""
    lib = _home(s) / "lib"
    stamp = lib / ".pom-sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return lib
    if shutil.which(s.mvn) is None:
        raise StackError("Maven was not found; it resolves the Kafka jars. "
                         "Install it (Debian: apt-get install maven) or set BILLING_STACK_MVN.")
    shutil.rmtree(lib, ignore_errors=True)
    result = subprocess.run(
        [s.mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={lib}", "-DincludeScope=runtime"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise StackError("Maven could not resolve the Kafka jars:\n" + (result.stdout + result.stderr)[-2000:])
    stamp.write_text(digest)
    return lib


def _java_cmd(s: StackSettings, lib: Path, *args: str) -> list[str]:
    return [
        s.java, f"-Xms{s.kafka_heap}", f"-Xmx{s.kafka_heap}", "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={s.logs}",
        "-cp", f"{lib}/*", *args,
    ]


def _write_config(s: StackSettings) -> Path:
    data = _home(s) / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = _home(s) / "server.properties"
    template = Template((KAFKA_DIR / "server.properties.template").read_text())
    if security.uses_tls(s):
        security.ensure_tls(s)
    config.write_text(template.substitute(
        port=s.kafka_port, controller_port=s.kafka_controller_port, log_dir=data,
        protocol=s.kafka_security, controller_protocol=security.controller_protocol(s),
        security=security.broker_properties(s)))
    config.chmod(0o600)  # it holds the admin's password when secured
    return config


def _format_storage(s: StackSettings, lib: Path, config: Path) -> None:
    if (_home(s) / "data" / "meta.properties").exists():
        return
    cluster_id = _cluster_id()
    result = subprocess.run(
        _java_cmd(s, lib, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                  "-c", str(config), "--standalone", *security.format_args(s)),
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise StackError("Formatting Kafka's storage failed:\n" + (result.stdout + result.stderr)[-2000:])


def _cluster_id() -> str:
    """A random Kafka cluster id: 16 bytes, URL-safe base64 without padding, not starting with "-"
    (the storage tool would read it as an option; Kafka's own Uuid.randomUuid skips those too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def is_running(s: StackSettings) -> bool:
    return read_pid(_pid_file(s)) is not None


def start(s: StackSettings) -> None:
    """Start the broker unless ours already runs; wait until it takes connections."""
    if is_running(s):
        return
    for port in (s.kafka_port, s.kafka_controller_port):
        if port_is_open(port):
            raise StackError(f"Port {port} is taken by another process, so Kafka cannot listen there. "
                             "Stop it, or choose other ports with BILLING_STACK_KAFKA_PORT / "
                             "BILLING_STACK_KAFKA_CONTROLLER_PORT.")
    check_java(s)
    lib = resolve_jars(s)
    config = _write_config(s)
    _format_storage(s, lib, config)
    pid_file = _pid_file(s)
    spawn(_java_cmd(s, lib, "kafka.Kafka", str(config)), _log_file(s), pid_file)
    wait_until(lambda: port_is_open(s.kafka_port), s.start_timeout_s, "Kafka",
               alive=lambda: read_pid(pid_file) is not None, log_file=_log_file(s))


def stop(s: StackSettings) -> bool:
    return stop_pid(_pid_file(s), grace_s=60)
