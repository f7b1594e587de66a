"""Group commit for the worker: the small transactions of concurrent jobs share one commit.

A job's database work is two or three short transactions (load and mark processing, record
the run, sometimes a side effect's success in between). Committed one by one, each pays a
thread hand-off and, on SQLite with ``synchronous=FULL``, an fsync: that was most of a job's
cost. Here every job hands its operation to ``TransactionBatcher.run`` and waits; one drain
task runs everything queued so far in one transaction in a worker thread, so thirty jobs cost
one fsync and one hand-off. The caller still returns only after its own writes committed.

An operation that raises would roll back its neighbours' work too, so a failed batch is
retried one operation per transaction: only the faulty one sees the error. When the database
itself is unavailable (``OperationalError``: locked past the busy timeout, disk, connection)
every operation gets that error at once; retrying them one by one would only wait out the busy
timeout once per operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

T = TypeVar("T")

Operation = Callable[[Connection], Any]


@dataclass(slots=True)
class _Queued:
    operation: Operation
    done: asyncio.Future[Any]


class TransactionBatcher:
    def __init__(self, engine: Engine, *, max_batch: int = 128) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queued: list[_Queued] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation(connection)`` inside a shared transaction; return once it committed.

        Operations must only touch the database through the connection (they may be run a
        second time, alone, if a neighbour fails) and must not block on anything else."""
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append(_Queued(operation, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="mailhook-worker-commit")
        return await done

    async def _drain(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[: self._max_batch], self._queued[self._max_batch :]
            outcomes = await asyncio.to_thread(self._execute, [item.operation for item in batch])
            for item, (ok, value) in zip(batch, outcomes, strict=True):
                if item.done.done():
                    continue  # the waiting job was cancelled
                if ok:
                    item.done.set_result(value)
                else:
                    item.done.set_exception(value)

    def _execute(self, operations: list[Operation]) -> list[tuple[bool, Any]]:
        try:
            with self._engine.begin() as conn:
                results = [operation(conn) for operation in operations]
        except Exception as exc:
            if len(operations) == 1 or isinstance(exc, OperationalError):
                return [(False, exc)] * len(operations)
            return [self._execute([operation])[0] for operation in operations]
        return [(True, result) for result in results]
