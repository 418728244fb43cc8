"""`python -m bench.http_load`: open-loop HTTP GETs at a fixed rate, from a process of its own.

Reads a JSON list of [path, api key] from stdin, sends them round-robin at
`--rate` requests/s for `--seconds` over keep-alive connections (plain asyncio
streams: the generator must cost less than the server it measures), and
prints one JSON object: latencies in ms from each request's scheduled time
(open loop: a server that falls behind cannot hide it), statuses, and the
rate actually offered.
"""

import asyncio
import json
import sys
import time

import typer


async def _one(pool: asyncio.Queue, host: str, port: int, path: str, key: str) -> int:
    reader, writer = await pool.get()
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        return status
    finally:
        pool.put_nowait((reader, writer))


async def run(host: str, port: int, rate: float, seconds: float, requests: list[list[str]],
              connections: int) -> dict:
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def fire(n: int, due: float) -> None:
        path, key = requests[n % len(requests)]
        try:
            status = await _one(pool, host, port, path, key)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            status = 0
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(n, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    latencies.sort()

    def q(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    return {"rate": rate, "offered_per_s": round(total / elapsed, 1), "requests": total, "statuses": statuses,
            "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": round(latencies[-1], 2)}


def main(port: int = typer.Option(..., help="The portal's port on 127.0.0.1."),
         rate: float = typer.Option(..., help="Requests per second."),
         seconds: float = typer.Option(10.0, help="How long."),
         connections: int = typer.Option(64, help="Keep-alive connections.")) -> None:
    requests = json.load(sys.stdin)
    print(json.dumps(asyncio.run(run("127.0.0.1", port, rate, seconds, requests, connections))))


if __name__ == "__main__":
    typer.run(main)
