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

import json
import logging
from collections.abc import Sequence

from redis.asyncio import Redis

from service.handoff.background import BackgroundFlusher
from service.mail.inbound import InboundEmail
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


class StoredPublisher(BackgroundFlusher[tuple[str, list[str]]]):
    """Collects stored messages and publishes them from a background task, so the delivery's
    answer never waits for Redis (as ``BatchingEnqueuer`` does for jobs)."""

    task_name = "mailhook-notify"

    def __init__(self, redis: Redis, channel: str, *, timeout_s: float = 2.0) -> None:
        super().__init__(timeout_s=timeout_s)
        self._redis = redis
        self._channel = channel

    def add(self, stored: Sequence[tuple[str, InboundEmail]]) -> None:
        self._collect((mid, [r.address for r in recipients_of(email)]) for mid, email in stored)

    async def _send(self, batch: list[tuple[str, list[str]]]) -> None:
        await self._redis.publish(self._channel, encode(batch))

    def _failed(self, batch: list[tuple[str, list[str]]], exc: BaseException) -> None:
        # Waiters re-check on their own now and then; the mail itself is safely stored.
        log.warning("could not publish %d stored message(s) to waiters: %s", len(batch), exc)
