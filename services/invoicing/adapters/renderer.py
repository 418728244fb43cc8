"""Renders invoice documents in worker processes, so that PDF layout (CPU, a few hundred
milliseconds an invoice) neither blocks the service's event loop nor holds the GIL it needs."""

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from shared.logging import get_logger

from ..documents.make import make_from
from ..documents.model import Document
from ..documents.seller import Seller
from ..ports import DocumentSource

log = get_logger(__name__)


def _background_priority() -> None:
    # Documents are background work: when the machine is busy, consuming statuses and debiting
    # balances (here or in the other services) comes first.
    os.nice(10)
    # A worker of a service that was killed (SIGKILL, out of memory) would wait forever for work.
    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True, name="orphaned").start()


def _warm() -> None:
    from ..documents import make  # noqa: F401 (WeasyPrint, drafthorse, factur-x)


class ProcessRenderer:
    """`ports.Renderer` on `workers` processes (0: in a thread of this process, for tests and tools)."""

    def __init__(self, seller: Seller, workers: int) -> None:
        self._seller = seller
        self._workers = workers
        self._pool: Executor | None = None

    def _executor(self) -> Executor | None:
        if self._workers > 0 and self._pool is None:
            # spawn, not fork: the service has threads (the Kafka client's), which fork would copy stopped.
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_background_priority)
        return self._pool

    async def __call__(self, sources: Sequence[DocumentSource]) -> list[list[Document]]:
        loop = asyncio.get_running_loop()
        pool = self._executor()
        calls = [(s.message, s.address, s.corrected_issued_at, self._seller) for s in sources]
        try:
            if pool is None:
                return [await asyncio.to_thread(make_from, *c) for c in calls]
            return list(await asyncio.gather(*(loop.run_in_executor(pool, make_from, *c) for c in calls)))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start new ones next time; this batch is retried.
            log.warning("a document worker died; starting new ones")
            await self.close()
            raise

    async def warm(self) -> None:
        """Start every worker and let it import WeasyPrint (a second each) before documents are due."""
        pool = self._executor()
        if pool is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(pool, _warm) for _ in range(self._workers)))

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
