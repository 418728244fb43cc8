"""`python -m bench.http_load`: open-loop HTTP GETs at a fixed rate, from several processes.

Reads a JSON list of [path, api key] from stdin. Request n of the schedule is due at
start + n / rate and asks for entry n of the list (round-robin); process i of `--processes` sends
the requests n ≡ i (mod processes) over its share of the keep-alive connections, so that together
they offer the whole rate (one asyncio process could not offer 500 requests/s on a 2-core machine).
Each connection is a bare asyncio.Protocol with its request bytes prepared beforehand: no streams,
no task per request, since the generator must cost less than the server it measures.

Latency runs from a request's scheduled time to its answer's last byte (open loop: a server that
falls behind cannot hide it); `late` from its scheduled time to the moment its process sent it or
queued it for the next free connection: how far the generator itself fell behind its schedule.
Every process hands back all its samples; percentiles are taken over all of them together.
"""

import asyncio
import json
import multiprocessing
import os
import sys
import time
from collections import Counter, deque

import typer

# CLOCK_MONOTONIC on Linux: one clock for every process, so they share one schedule.
clock = time.monotonic


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer framed by Content-Length."""

    def __init__(self, shard: "Shard") -> None:
        self.shard, self.buffer, self.due, self.need, self.status = shard, bytearray(), 0.0, -1, 0
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.shard.ready(self)

    def send(self, request: bytes, due: float) -> None:
        self.due, self.busy = due, True
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17:stop if stop >= 0 else len(head)])
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            del self.buffer[:self.need]
            self.need, self.busy = -1, False
            self.shard.answered(self, self.status, self.due)

    def connection_lost(self, exc: Exception | None) -> None:
        self.shard.lost(self)


class Shard:
    """One process's share: its connections, the requests waiting for one, and the samples."""

    def __init__(self, host: str, port: int, requests: list[bytes], expected: int) -> None:
        self.host, self.port, self.requests, self.expected = host, port, requests, expected
        self.idle: deque[Connection] = deque()
        self.waiting: deque[tuple[int, float]] = deque()
        self.latencies: list[float] = []
        self.late: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.queued = 0
        self.last_sent = self.last_answered = 0.0
        self.finished = asyncio.get_running_loop().create_future()

    async def open(self) -> None:
        await asyncio.get_running_loop().create_connection(lambda: Connection(self), self.host, self.port)

    def dispatch(self, n: int, due: float, now: float) -> None:
        self.late.append(now - due)
        self.last_sent = now
        if self.idle:
            self.idle.popleft().send(self.requests[n % len(self.requests)], due)  # FIFO: every one stays warm
        else:
            self.queued += 1
            self.waiting.append((n, due))

    def ready(self, conn: Connection) -> None:
        if self.waiting:
            n, due = self.waiting.popleft()
            conn.send(self.requests[n % len(self.requests)], due)
        else:
            self.idle.append(conn)

    def answered(self, conn: Connection, status: int, due: float) -> None:
        self.record(status, due)
        self.ready(conn)

    def record(self, status: int, due: float) -> None:
        self.last_answered = clock()
        self.latencies.append(self.last_answered - due)
        self.statuses[status] += 1
        if len(self.latencies) == self.expected and not self.finished.done():
            self.finished.set_result(None)

    def lost(self, conn: Connection) -> None:
        # The server closed it (an idle keep-alive timing out, or a failure): a request in flight
        # counts as failed (status 0), and a new connection takes the old one's place.
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.busy:
            self.record(0, conn.due)
        if not self.finished.done():
            asyncio.get_running_loop().create_task(self.open())


def encode(requests: list[list[str]]) -> list[bytes]:
    return [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
            for path, key in requests]


async def _share(port: int, requests: list[list[str]], rate: float, total: int, start: float, index: int,
                 processes: int, connections: int) -> dict:
    cpu = time.process_time()
    mine = range(index, total, processes)
    shard = Shard("127.0.0.1", port, encode(requests), len(mine))
    for _ in range(connections):
        await shard.open()
    for n in mine:
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - clock()))  # sleep(0) still lets answers in when behind
        shard.dispatch(n, due, clock())
    if mine:
        await asyncio.wait_for(shard.finished, timeout=120)
    return {"latencies": shard.latencies, "late": shard.late, "statuses": dict(shard.statuses),
            "queued": shard.queued, "last_sent": shard.last_sent,
            "last_answered": shard.last_answered, "cpu_s": time.process_time() - cpu}


def share(args: tuple) -> dict:
    try:
        import uvloop

        return uvloop.run(_share(*args))
    except ImportError:  # pragma: no cover - uvloop is a project dependency; plain asyncio also works
        return asyncio.run(_share(*args))


def quantiles(samples: list[float]) -> dict:
    """p50, p95, p99 and max in ms over every sample (seconds in)."""
    s = sorted(samples)
    if not s:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    at = lambda p: round(s[min(len(s) - 1, int(p * len(s)))] * 1000, 2)  # noqa: E731
    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": round(s[-1] * 1000, 2)}


def run(port: int, rate: float, seconds: float, requests: list[list[str]], connections: int,
        processes: int) -> dict:
    total = int(rate * seconds)
    start = clock() + 1.0  # every process connected and waiting before the first request is due
    args = [(port, requests, rate, total, start, i, processes, max(1, connections // processes))
            for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(share, args, chunksize=1)
    latencies = [x for p in parts for x in p["latencies"]]
    statuses: Counter[int] = Counter()
    for p in parts:
        statuses.update({int(k): v for k, v in p["statuses"].items()})
    sent_for = max(p["last_sent"] for p in parts) - start
    late = quantiles([x for p in parts for x in p["late"]])
    return {"rate": rate, "requests": total, "processes": processes, "connections": connections,
            "offered_per_s": round((total - 1) / sent_for, 1) if sent_for > 0 else None,
            "achieved_per_s": round(len(latencies) / (max(p["last_answered"] for p in parts) - start), 1),
            "statuses": dict(statuses), **quantiles(latencies),
            "late_p99_ms": late["p99_ms"], "late_max_ms": late["max_ms"],
            "queued_for_a_connection": sum(p["queued"] for p in parts),
            "generator_cpu_ms_per_request": round(sum(p["cpu_s"] for p in parts) * 1000 / max(1, total), 3)}


def main(port: int = typer.Option(..., help="The portal's port on 127.0.0.1."),
         rate: float = typer.Option(..., help="Requests per second, all processes together."),
         seconds: float = typer.Option(10.0, help="How long."),
         connections: int = typer.Option(64, help="Keep-alive connections, all processes together."),
         processes: int = typer.Option(min(4, os.cpu_count() or 1), help="Processes sharing the schedule.")) -> None:
    requests = json.load(sys.stdin)
    print(json.dumps(run(port, rate, seconds, requests, connections, processes)))


if __name__ == "__main__":
    typer.run(main)
