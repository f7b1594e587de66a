"""Enqueueing ``process_message`` jobs in arq's format, many per Redis round trip.

arq's own ``enqueue_job`` costs a WATCH/EXISTS/MULTI/EXEC exchange per job. Ingest instead
batches every message committed since the last flush into one Lua call that applies arq's
uniqueness rule (skip when the job or its result already exists) to each job, so a redelivered
or re-swept message never gets a second job. Producers name the job; ``service`` never imports
``workers``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from arq.constants import expires_extra_ms, health_check_key_suffix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.asyncio import Redis

from service.handoff.background import BackgroundFlusher

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


class BatchingEnqueuer(BackgroundFlusher[str]):
    """Collects committed message ids and flushes them to Redis in the background.

    The HTTP answer does not wait for this: a message is safe once committed, and anything that
    fails to enqueue here stays ``pending`` until the sweeper enqueues it.
    """

    task_name = "mailhook-enqueuer"

    def __init__(self, queue: JobQueue, *, timeout_s: float = 2.0) -> None:
        super().__init__(timeout_s=timeout_s)
        self._queue = queue

    def add(self, message_ids: list[str]) -> None:
        self._collect(message_ids)

    async def _send(self, batch: list[str]) -> None:
        await self._queue.enqueue_many(batch)

    def _failed(self, batch: list[str], exc: BaseException) -> None:
        log.warning("could not enqueue %d message(s), left pending for the sweeper: %s", len(batch), exc)
