"""Enqueueing ``process_message`` jobs in arq's format, many per Redis round trip.

arq's own ``enqueue_job`` costs a WATCH/EXISTS/MULTI/EXEC exchange per job. Ingest instead
batches every message committed since the last flush into one Lua call that applies arq's
uniqueness rule (skip when the job or its result already exists) to each job, so a redelivered
or re-swept message never gets a second job. Producers name the job; ``service`` never imports
``workers``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from arq.constants import expires_extra_ms, health_check_key_suffix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("mailhook.queue")

PROCESS_MESSAGE = "process_message"
#: How often each worker writes arq's health-check key (``<queue>:health-check``, expiring one
#: second after the next write is due): the heartbeat on the UI's status page.
HEALTH_CHECK_INTERVAL_S = 30


def health_check_key(queue_name: str) -> str:
    return queue_name + health_check_key_suffix


_ENQUEUE_MANY = """
-- KEYS[1], KEYS[2]: arq's job and result key prefixes. ARGV: queue, expiry, score, then
-- (job_id, job_key, payload) triples.
local queue, expires_ms, score = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local added = 0
for i = 4, #ARGV, 3 do
  local job_id, job_key, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('EXISTS', KEYS[1] .. job_id, KEYS[2] .. job_id) == 0 then
    redis.call('PSETEX', job_key, expires_ms, payload)
    redis.call('ZADD', queue, score, job_id)
    added = added + 1
  end
end
return added
"""


class JobQueue:
    """Adds ``process_message`` jobs to the arq queue; ``enqueue_many`` is one round trip."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self._script = redis.register_script(_ENQUEUE_MANY)

    async def enqueue_many(
        self, message_ids: Iterable[str], *, job_suffix: str = "", kwargs: dict[str, object] | None = None
    ) -> int:
        """Enqueue one job per message id; returns how many were new. Raises ``RedisError``."""
        now_ms = int(time.time() * 1000)
        argv: list[str | bytes | int] = [self.queue_name, expires_extra_ms, now_ms]
        for message_id in message_ids:
            job_id = message_id + job_suffix
            payload = serialize_job(PROCESS_MESSAGE, (message_id,), kwargs or {}, None, now_ms)
            argv += [job_id, job_key_prefix + job_id, payload]
        if len(argv) == 3:
            return 0
        return int(await self._script(keys=[job_key_prefix, result_key_prefix], args=argv))


class BatchingEnqueuer:
    """Collects committed message ids and flushes them to Redis in the background.

    The HTTP answer does not wait for this: a message is safe once committed, and anything that
    fails to enqueue here stays ``pending`` until the sweeper enqueues it.
    """

    def __init__(self, queue: JobQueue, *, timeout_s: float = 2.0) -> None:
        self._queue = queue
        self._timeout_s = timeout_s
        self._ids: list[str] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def add(self, message_ids: list[str]) -> None:
        self._ids.extend(message_ids)
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailhook-enqueuer")

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
        ids, self._ids = self._ids, []
        if not ids:
            return
        try:
            await asyncio.wait_for(self._queue.enqueue_many(ids), self._timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not enqueue %d message(s), left pending for the sweeper: %s", len(ids), exc)
