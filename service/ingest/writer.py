"""Group commit: concurrent deliveries share one transaction and one fsync.

Each request hands its normalised emails to ``GroupCommitWriter.submit`` and waits. A single
background task drains everything queued so far into one batch and commits it in a worker
thread; while that commit runs, the next batch accumulates. A request is answered only after
the transaction holding its rows has committed, so a 200 still means "durably stored".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy.exc
from sqlalchemy import Engine

from service.errors import StorageUnavailable
from service.mail.inbound import InboundEmail
from service.runtime.logs import first_line
from service.store.blobs import BlobStore
from service.store.messages import StoreResult, store_batch

log = logging.getLogger("mailhook.writer")


@dataclass(slots=True)
class _Pending:
    emails: Sequence[InboundEmail]
    done: asyncio.Future[list[StoreResult]]


class GroupCommitWriter:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        *,
        max_batch: int = 256,
        window_s: float = 0.0,
        on_stored: Callable[[list[tuple[str, InboundEmail]]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._blobs = blobs
        self._max_batch = max_batch
        self._window_s = window_s
        self._on_stored = on_stored
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # Commits run one at a time on a thread of their own: in the default pool they would
        # queue behind the read API's database work, and a burst of readers would delay a 200.
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailhook-commit")
        self._task = asyncio.create_task(self._run(), name="mailhook-group-commit")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._executor:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, emails: Sequence[InboundEmail]) -> list[StoreResult]:
        """Return once ``emails`` are committed; raise ``StorageUnavailable`` if they could not be."""
        if self._task is None:
            raise RuntimeError("writer not started")
        done: asyncio.Future[list[StoreResult]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(emails, done))  # unbounded: never waits
        return await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._window_s:
                await asyncio.sleep(self._window_s)
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)
            del batch  # do not keep the last batch (raw MIME of tens of MB) alive while idle

    async def _commit(self, batch: list[_Pending]) -> None:
        emails = [email for pending in batch for email in pending.emails]
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self._executor, store_batch, self._engine, self._blobs, emails)
        except Exception as exc:  # driver, disk or our own bug: fail this batch, keep the writer alive
            if len(batch) > 1 and not _unavailable(exc):
                # One delivery's rows broke the transaction: store each alone, so only it fails.
                for pending in batch:
                    await self._commit([pending])
                return
            log.warning("storing a batch of %d failed: %s: %s", len(emails), type(exc).__name__, first_line(exc))
            error = StorageUnavailable("the message store is unavailable; retry later")
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(error)
            return
        offset = 0
        for pending in batch:
            count = len(pending.emails)
            if not pending.done.done():
                pending.done.set_result(results[offset : offset + count])
            offset += count
        # After the commit: the enqueuer and the waiters' notification may only name rows that exist.
        created = [(r.message_id, email) for r, email in zip(results, emails, strict=True) if not r.duplicate]
        if created and self._on_stored:
            self._on_stored(created)


def _unavailable(exc: Exception) -> bool:
    """The database or disk is the problem (locked, full, gone), not one delivery's content:
    retrying deliveries one by one would only wait out the busy timeout again for each."""
    return isinstance(exc, (sqlalchemy.exc.OperationalError, sqlite3.OperationalError, OSError))
