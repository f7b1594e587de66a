"""The storage side of ingest shared by every entry point (HTTP app, SMTP server):
group-committing writer plus the batching enqueuer, built from settings and run together."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from redis.asyncio import Redis
from sqlalchemy import Engine

from service.blobs import BlobStore
from service.db import make_engine
from service.inbound import InboundEmail
from service.nonces import NonceCache
from service.queue import BatchingEnqueuer, JobQueue
from service.settings import Settings
from service.storage import StoreResult
from service.writer import GroupCommitWriter

#: Young-generation threshold for serving processes (CPython's default is 700).
_GEN0_THRESHOLD = 20_000


def freeze_startup_objects() -> None:
    """Move everything allocated at start-up (modules, models, compiled config) out of the
    garbage collector's reach. Without it, each full collection walks ~100k long-lived objects
    and stalls every request in flight for 80-150 ms (measured by bench/ingest --instrument).

    Also collect the young generation less often: 32 deliveries in flight hold a few thousand
    container objects (parsed JSON, emails), so at the default threshold nearly every young
    collection walks and promotes them; with a larger one most of a request's objects are freed
    by reference counting before any collection sees them (at the default, the collector took
    ~1.5 % of server CPU under bench/ingest, per perf). Garbage cycles then wait a little longer
    to be freed; they are rare here.
    """
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    if gen0:  # 0 means the collector was disabled on purpose: leave it so
        gc.set_threshold(max(gen0, _GEN0_THRESHOLD), gen1, gen2)


def make_redis(settings: Settings) -> Redis:
    # Short timeouts: when Redis is down, ingest must still answer quickly (messages stay pending).
    return Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)


class Ingestor:
    """Owns the engine, blob store, Redis client, writer and enqueuer of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings)
        self.blobs = BlobStore(settings.blob_dir)
        self.redis = make_redis(settings)
        self.nonces = NonceCache(self.redis)
        self.enqueuer = BatchingEnqueuer(JobQueue(self.redis, settings.queue_name))
        self.writer = GroupCommitWriter(
            self.engine,
            self.blobs,
            max_batch=settings.commit_max_batch,
            window_s=settings.commit_window_ms / 1000,
            on_stored=self.enqueuer.add,
        )

    async def start(self) -> None:
        await self.writer.start()
        await self.enqueuer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.enqueuer.stop()
        await self.redis.aclose()
        self.engine.dispose()

    async def store(self, emails: Sequence[InboundEmail]) -> list[StoreResult]:
        """Durably store (raises ``StorageUnavailable``); queueing follows in the background."""
        return await self.writer.submit(emails)
