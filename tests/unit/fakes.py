"""What the services' in-memory fakes share: stores that record their calls and fail on demand, a unit of
work that rolls back, and batches of records."""

import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import ConsumerRecord

from shared.contracts import read
from shared.dead_letters import Accepted
from shared.topics import DIRECTORY


class SnapshotState:
    """Deep copies of the attributes named in `STATE`: a fake store's transactions."""

    STATE: tuple[str, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy({name: getattr(self, name) for name in self.STATE})

    def restore(self, snapshot: dict[str, Any]) -> None:
        for name, value in snapshot.items():
            setattr(self, name, value)


class StoreFailure(RuntimeError):
    """What PostgreSQL would raise (a constraint violated, a numeric overflow, a lost connection)."""


class FakeStore(SnapshotState):
    """A fake store's calls, and the one told to fail (to test rollbacks): `fail_on` names a method,
    or (method, n) for its n-th call, that raises StoreFailure."""

    def __init__(self) -> None:
        self.fail_on: str | tuple[str, int] | None = None
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        fail = self.fail_on
        if fail == name or (isinstance(fail, tuple) and fail[0] == name and self.calls.count(name) == fail[1]):
            raise StoreFailure(f"{name} failed")


class Snapshotting(Protocol):
    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> None: ...


S = TypeVar("S", bound=Snapshotting)


class FakeUnitOfWork(Generic[S]):
    """A `ports.UnitOfWork` over one fake store: commit on normal exit, roll back on an exception."""

    def __init__(self, store: S) -> None:
        self.store = store
        self.committed = 0
        self.rolled_back = 0

    def __call__(self):
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[S]:
        before = self.store.snapshot()
        try:
            yield self.store
        except BaseException:
            self.store.restore(before)
            self.rolled_back += 1
            raise
        self.committed += 1


def consumer_record(topic: str, offset: int, key: bytes | None, value: bytes, partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord(topic=topic, partition=partition, offset=offset, timestamp=0, timestamp_type=0,
                          key=key, value=value, checksum=None, serialized_key_size=len(key or b""),
                          serialized_value_size=len(value), headers=())


def owner_of(account: dict[str, Any]) -> str:
    return account.get("partner_id") or account["channel_id"]


class Feed:
    """Builds `Accepted` batches from dicts, each record at the next offset of its topic."""

    def __init__(self) -> None:
        self.offsets: Counter[str] = Counter()

    def accepted(self, topic: str, key: str, body: dict[str, Any]) -> Accepted:
        value = json.dumps(body).encode()
        offset = self.offsets[topic]
        self.offsets[topic] += 1
        # `read`, as the consumer's gate (shared/dead_letters.screen): light structures for the hot topics.
        return Accepted(consumer_record(topic, offset, key.encode(), value), read(topic, value))

    def directory(self, *bodies: dict[str, Any]) -> list[Accepted]:
        return [self.accepted(DIRECTORY.name, b["partner_id"], b) for b in bodies]
