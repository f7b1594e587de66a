"""The web process's one subscriber to stored-mail notifications, and the local waiters it wakes.

A ``GET /api/v1/wait`` request registers a ``Watch`` under its address *before* it first reads
the database, so a notification that lands between that read and the wait is not lost (the
watch's event stays set). The hub reads ``Settings.notify_channel`` on one Redis connection and
sets the events of the watches whose address (exact, or base address for base-address waiters)
is among a notification's recipients; those requests read the database again. Nothing polls the
database while Redis is reachable, except a slow safety re-check (``RECHECK_S``) that bounds the
delay a lost notification could cause. While the subscription is down, watches re-check every
``DEGRADED_RECHECK_S``; when it comes back every watch re-checks once (it may have missed mail).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.handoff.notify import decode
from service.store.recipients import Recipient, split_address

log = logging.getLogger("mailhook.waiters")

RECHECK_S = 10.0
DEGRADED_RECHECK_S = 1.0
_RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)

Key = tuple[str, str]
#: Woken by every notification, whatever its recipients: the web inbox's live stream.
ANY: Key = ("any", "")


def watch_key(recipient: Recipient) -> Key:
    """A plus-address waits for itself only; a base address for itself and all its tags."""
    return ("address", recipient.address) if recipient.tag is not None else ("base", recipient.base)


def _keys_of(address: str) -> tuple[Key, Key]:
    recipient = split_address(address)
    return ("address", recipient.address), ("base", recipient.base)


class Watch:
    def __init__(self, hub: WaitHub) -> None:
        self._hub = hub
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Until woken or ``timeout``; the event is cleared for the next round either way."""
        limit = RECHECK_S if self._hub.connected else DEGRADED_RECHECK_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), max(0.0, min(timeout, limit)))
        self.event.clear()


class WaitHub:
    def __init__(self, redis_url: str, channel: str) -> None:
        self._redis_url = redis_url
        self._channel = channel
        self._watches: dict[Key, set[Watch]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.connected = False

    async def start(self, *, ready_within_s: float = 2.0) -> None:
        """Subscribe in the background; wait briefly for the first subscription so waits made
        right after start-up are woken (if Redis is down, start anyway and re-check often)."""
        self._task = asyncio.create_task(self._run(), name="mailhook-wait-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), ready_within_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._wake(list(self._watches))

    @contextlib.contextmanager
    def watch(self, key: Key) -> Iterator[Watch]:
        watch = Watch(self)
        self._watches.setdefault(key, set()).add(watch)
        try:
            yield watch
        finally:
            members = self._watches.get(key)
            if members is not None:
                members.discard(watch)
                if not members:
                    del self._watches[key]

    def dispatch(self, payload: bytes | str) -> None:
        stored = decode(payload)
        self._wake(key for _, addresses in stored for address in addresses for key in _keys_of(address))
        if stored:
            self._wake([ANY])

    def _wake(self, keys: Iterable[Key]) -> None:
        for key in keys:
            for watch in self._watches.get(key, ()):
                watch.event.set()

    async def _run(self) -> None:
        attempt = 0
        while True:
            redis = Redis.from_url(self._redis_url, socket_connect_timeout=2.0, socket_keepalive=True)
            try:
                async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._connected(True)
                    attempt = 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.dispatch(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("wait notifications unavailable (%s); waiters re-check every %gs", exc, DEGRADED_RECHECK_S)
            finally:
                self._connected(False)
                await redis.aclose()
            await asyncio.sleep(_RETRY_S[min(attempt, len(_RETRY_S) - 1)])
            attempt += 1

    def _connected(self, value: bool) -> None:
        self.connected = value
        if value:
            self._subscribed.set()
        # Either way every waiter looks again: after a gap it may have missed a notification,
        # and while disconnected it must shorten its wait.
        self._wake(list(self._watches))
