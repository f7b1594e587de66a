"""Work handed off from a delivery's answer: collected, then flushed to Redis by one background task.

Ingest must answer as soon as a message is committed; enqueueing its job and telling waiters about
it happen afterwards, in batches, and a failure there loses nothing (the sweeper re-queues, waiters
re-check). ``BackgroundFlusher`` is that shared shape; subclasses say how a batch is sent.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Generic, TypeVar

from redis.exceptions import RedisError

Item = TypeVar("Item")


class BackgroundFlusher(ABC, Generic[Item]):
    #: Name of the background task (shows in asyncio debugging and py-spy).
    task_name = "mailhook-flusher"

    def __init__(self, *, timeout_s: float = 2.0) -> None:
        self._timeout_s = timeout_s
        self._items: list[Item] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def _collect(self, items: Iterable[Item]) -> None:
        self._items.extend(items)
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        """Flush what is collected, then end. No cancellation mid-flush: on Python 3.11 a cancel
        landing inside ``wait_for`` can be swallowed, which would hang shutdown."""
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._timeout_s + 1)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._flush()
        await self._flush()

    async def _flush(self) -> None:
        batch, self._items = self._items, []
        if not batch:
            return
        try:
            await asyncio.wait_for(self._send(batch), self._timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(batch, exc)

    @abstractmethod
    async def _send(self, batch: list[Item]) -> None:
        """Send one batch; may raise ``RedisError``, ``OSError`` or time out."""

    @abstractmethod
    def _failed(self, batch: list[Item], exc: BaseException) -> None:
        """Say (in the log) what a failed batch means; nothing is lost by it."""
