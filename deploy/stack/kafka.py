"""The Kafka broker: jars resolved from Maven Central, storage formatted once, run with java."""

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from string import Template

from . import security
from .process import StackError, port_is_open, read_pid, spawn, stop_pid, wait_until
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


def _home(s: StackSettings) -> Path:
    return nodes(s)[0].home


def _pid_file(s: StackSettings) -> Path:
    return nodes(s)[0].pid_file


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


def formatted_brokers(s: StackSettings) -> int | None:
    """How many nodes this stack's Kafka was formatted for, if it was."""
    marker = nodes(s)[0].home / "brokers"
    if marker.exists():
        return int(marker.read_text())
    return 1 if (nodes(s)[0].home / "data" / "meta.properties").exists() else None


def _check_layout(s: StackSettings) -> None:
    """A stack formatted for one node count cannot start with another (its quorum is in its metadata)."""
    marker = nodes(s)[0].home / "brokers"
    formatted = (nodes(s)[0].home / "data" / "meta.properties").exists()
    if marker.exists():
        count = int(marker.read_text())
    elif formatted:
        count = 1  # formatted before the marker existed: a single node
    else:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(s.kafka_brokers))
        return
    if count != s.kafka_brokers:
        raise StackError(f"Kafka in {s.dir} was formatted for {count} broker(s), not {s.kafka_brokers}. Use "
                         f"--brokers {count}, or another stack folder (BILLING_STACK_DIR), or delete {s.dir}/kafka*.")


def is_running(s: StackSettings) -> bool:
    """Every node of the stack runs."""
    return all(read_pid(node.pid_file) is not None for node in nodes(s))


def start(s: StackSettings) -> None:
    """Start every node that is not running; wait until each takes connections."""
    if is_running(s):
        return
    _check_layout(s)
    check_java(s)
    lib = resolve_jars(s)
    starting = [node for node in nodes(s) if read_pid(node.pid_file) is None]
    for node in starting:
        _check_ports(node)
    for node in starting:  # all before waiting: a node of a quorum answers once a majority runs
        _spawn(s, lib, node)
    for node in starting:
        _wait(s, node)


def _check_ports(node: Node) -> None:
    for port in (node.port, node.controller_port):
        if port_is_open(port):
            raise StackError(f"Port {port} is taken by another process, so Kafka cannot listen there. "
                             "Stop it, or choose other ports with BILLING_STACK_KAFKA_PORT / "
                             "BILLING_STACK_KAFKA_CONTROLLER_PORT (node n listens on those + 2(n-1)).")


def _spawn(s: StackSettings, lib: Path, node: Node) -> None:
    config = _write_config(s, node)
    _format_storage(s, lib, node, config)
    spawn(_java_cmd(s, lib, "kafka.Kafka", str(config)), node.log_file, node.pid_file)


def _wait(s: StackSettings, node: Node) -> None:
    wait_until(lambda: port_is_open(node.port), s.start_timeout_s, f"Kafka node {node.n}",
               alive=lambda: read_pid(node.pid_file) is not None, log_file=node.log_file)


def start_node(s: StackSettings, n: int) -> None:
    """Start node `n` again (after stop_node or kill_node)."""
    node = nodes(s)[n - 1]
    if read_pid(node.pid_file) is None:
        _check_ports(node)
        _spawn(s, resolve_jars(s), node)
        _wait(s, node)


def stop_node(s: StackSettings, n: int) -> bool:
    """Stop node `n` as an operator would (SIGTERM: it hands its leaderships over first)."""
    return stop_pid(nodes(s)[n - 1].pid_file, grace_s=60)


def kill_node(s: StackSettings, n: int) -> None:
    """SIGKILL node `n`, as a crash or the OOM killer would."""
    pid = read_pid(nodes(s)[n - 1].pid_file)
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: read_pid(nodes(s)[n - 1].pid_file) is None, 30, f"Kafka node {n} to die")


def stop(s: StackSettings) -> bool:
    """Stop every node, all at once: one by one, the last ones would wait for a quorum that is gone."""
    with ThreadPoolExecutor(max_workers=len(nodes(s))) as pool:
        return any(list(pool.map(lambda node: stop_pid(node.pid_file, grace_s=60), nodes(s))))
