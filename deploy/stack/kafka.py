"""The Kafka nodes of the local stack as processes: started together, stopped together, or one by one
(the fault suite kills and restarts single nodes of a three-node cluster)."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .kafka_files import (KAFKA_DIR, POM, Node, _cluster_id, _format_storage, _java_cmd, _write_config,
                          check_java, nodes, resolve_jars)
from .process import StackError, port_is_open, read_pid, spawn, stop_pid, wait_until
from .settings import StackSettings

__all__ = ["KAFKA_DIR", "POM", "Node", "_cluster_id", "_write_config", "check_java", "nodes", "resolve_jars",
           "formatted_brokers", "is_running", "start", "start_node", "stop_node", "kill_node", "stop"]


def _home(s: StackSettings) -> Path:
    return nodes(s)[0].home


def _pid_file(s: StackSettings) -> Path:
    return nodes(s)[0].pid_file


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
