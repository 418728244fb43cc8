"""Waiting for every service's consumer group to have caught up with its topics.

A latency phase that starts while a service still drains the throughput run's backlog (the portal
its feeds, invoicing the directory and payments) measures that service's catching up on the same two
cores, not the pipeline at the offered load.
"""

import asyncio
import time
from collections.abc import Sequence

from shared.lag import lag_of
from shared.positions import KafkaPositions
from shared.settings import KafkaSettings


async def lag(bootstrap: str, groups: Sequence[str]) -> dict[str, int]:
    """Records each group has still to commit, over every partition it has committed on (a partition a
    group never committed on holds nothing it has read yet: not counted). The services' own lag gauge
    (`shared/lag.py`) asks the same two questions."""
    positions = KafkaPositions(KafkaSettings(bootstrap_servers=bootstrap), "bench-groups")
    try:
        out = {}
        for group in groups:
            committed = await positions.committed_at(group)
            ends = await positions.ends(list(committed)) if committed else {}
            out[group] = sum(lag_of(ends, committed).values())
        return out
    finally:
        await positions.close()


async def wait_caught_up(bootstrap: str, groups: Sequence[str], timeout_s: float = 300) -> float:
    """Wait until no group lags; returns the seconds it took (the timeout's, if they did not catch up)."""
    started = time.monotonic()
    first = True
    while time.monotonic() - started < timeout_s:
        behind = await lag(bootstrap, groups)
        if not any(behind.values()):
            break
        if first:
            print(f"waiting for the services to catch up: {behind}", flush=True)
            first = False
        await asyncio.sleep(1.0)
    return round(time.monotonic() - started, 1)
