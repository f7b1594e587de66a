"""Telling waiters that mail was stored: one Redis PUBLISH per group commit, after the commit.

Ingest (HTTP hooks and SMTP alike) hands every newly committed message's id and recipients to
``StoredPublisher``; a background task publishes whatever has collected as one JSON message on
``Settings.notify_channel``. Every web process subscribes to it once (``service.api.waiters``)
and wakes only the local ``GET /api/v1/wait`` requests whose address is among the recipients;
they then read the database. A notification is a hint to look, never the data: a lost one
delays a waiter until its safety re-check, it never loses or invents mail.

Payload: ``{"messages": [[id, [address, ...]], ...]}`` with addresses normalised as in
``service.store.recipients``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.inbound import InboundEmail
from service.store.recipients import recipients_of

log = logging.getLogger("mailhook.notify")


def encode(messages: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    return json.dumps({"messages": [[mid, list(addresses)] for mid, addresses in messages]}).encode()


def decode(payload: bytes | str) -> list[tuple[str, list[str]]]:
    """The (id, addresses) pairs of a notification; nothing for anything malformed."""
    try:
        data = json.loads(payload)
        items = data["messages"]
        return [(str(mid), [str(a) for a in addresses]) for mid, addresses in items]
    except (ValueError, KeyError, TypeError):
        return []


class StoredPublisher:
    """Collects stored messages and publishes them from a background task, so the delivery's
    answer never waits for Redis (as ``BatchingEnqueuer`` does for jobs)."""

    def __init__(self, redis: Redis, channel: str, *, timeout_s: float = 2.0) -> None:
        self._redis = redis
        self._channel = channel
        self._timeout_s = timeout_s
        self._pending: list[tuple[str, list[str]]] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def add(self, stored: Sequence[tuple[str, InboundEmail]]) -> None:
        self._pending.extend((mid, [r.address for r in recipients_of(email)]) for mid, email in stored)
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailhook-notify")

    async def stop(self) -> None:
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
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            await asyncio.wait_for(self._redis.publish(self._channel, encode(pending)), self._timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            # Waiters re-check on their own now and then; the mail itself is safely stored.
            log.warning("could not publish %d stored message(s) to waiters: %s", len(pending), exc)
