"""What a Kafka node of the local stack needs on disk: the jars, its configuration, formatted storage.

Nodes are numbered from 1; node 1 keeps the single-node layout (`<stack>/kafka`), node n lives in
`<stack>/kafka-n` and listens on the stack's two ports + 2(n-1).
"""

import base64
import hashlib
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from . import security
from .process import StackError
from .settings import PROJECT_ROOT, StackSettings

KAFKA_DIR = PROJECT_ROOT / "deploy" / "kafka"
POM = KAFKA_DIR / "pom.xml"


@dataclass(frozen=True)
class Node:
    """One KRaft node (broker and controller). Node 1 keeps the single-node layout (`<stack>/kafka`)."""

    n: int
    home: Path
    port: int
    controller_port: int
    log_file: Path

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"


def nodes(s: StackSettings) -> list[Node]:
    return [Node(n, s.dir / ("kafka" if n == 1 else f"kafka-{n}"), s.kafka_port + 2 * (n - 1),
                 s.kafka_controller_port + 2 * (n - 1), s.logs / ("kafka.log" if n == 1 else f"kafka-{n}.log"))
            for n in range(1, s.kafka_brokers + 1)]


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
    lib = nodes(s)[0].home / "lib"
    stamp = lib / ".pom-sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return lib
    shutil.rmtree(lib, ignore_errors=True)
    # Another stack of this checkout (the tests start several) resolved the same pom: copy its jars.
    for other in sorted({*(PROJECT_ROOT / ".stack").glob("*/kafka/lib"), *s.dir.parent.glob("*/kafka/lib")}):
        if other != lib and (other / ".pom-sha256").exists() and (other / ".pom-sha256").read_text() == digest:
            shutil.copytree(other, lib)
            return lib
    if shutil.which(s.mvn) is None:
        raise StackError("Maven was not found; it resolves the Kafka jars. "
                         "Install it (Debian: apt-get install maven) or set BILLING_STACK_MVN.")
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


def _replication(s: StackSettings) -> str:
    """Every internal topic replicated like the data topics: on three nodes, 3 copies and 2 in sync."""
    factor = min(s.kafka_brokers, 3)
    in_sync = 2 if factor >= 3 else 1
    return "\n".join([
        f"offsets.topic.replication.factor={factor}",
        "offsets.topic.num.partitions=12",
        f"transaction.state.log.replication.factor={factor}",
        f"transaction.state.log.min.isr={in_sync}",
        f"share.coordinator.state.topic.replication.factor={factor}",
        f"share.coordinator.state.topic.min.isr={in_sync}",
        f"default.replication.factor={factor}",
        f"min.insync.replicas={in_sync}",
        "unclean.leader.election.enable=false",
    ])


def _write_config(s: StackSettings, node: Node | None = None) -> Path:
    node = node or nodes(s)[0]
    data = node.home / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = node.home / "server.properties"
    template = Template((KAFKA_DIR / "server.properties.template").read_text())
    if security.uses_tls(s):
        security.ensure_tls(s)
    if s.kafka_brokers == 1:
        quorum = f"controller.quorum.bootstrap.servers=127.0.0.1:{node.controller_port}"
    else:  # a static quorum of every node's controller
        quorum = "controller.quorum.voters=" + ",".join(f"{m.n}@127.0.0.1:{m.controller_port}" for m in nodes(s))
    config.write_text(template.substitute(
        node_id=node.n, quorum=quorum, port=node.port, controller_port=node.controller_port, log_dir=data,
        protocol=s.kafka_security, controller_protocol=security.controller_protocol(s),
        replication=_replication(s), security=security.broker_properties(s)))
    config.chmod(0o600)  # it holds the admin's password when secured
    return config


def _format_storage(s: StackSettings, lib: Path, node: Node, config: Path) -> None:
    if (node.home / "data" / "meta.properties").exists():
        return
    # One cluster id for every node, kept with node 1; a single node keeps the dynamic quorum it always had.
    shared = nodes(s)[0].home / "cluster.id"
    if s.kafka_brokers > 1 and shared.exists():
        cluster_id = shared.read_text().strip()
    else:
        cluster_id = _cluster_id()
        shared.parent.mkdir(parents=True, exist_ok=True)
        shared.write_text(cluster_id)
    mode = ["--standalone"] if s.kafka_brokers == 1 else []
    result = subprocess.run(
        _java_cmd(s, lib, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), *mode,
                  *security.format_args(s)),
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


