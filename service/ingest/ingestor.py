"""The storage side of ingest shared by every entry point (HTTP app, SMTP server):
group-committing writer plus the batching enqueuer, built from settings and run together."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from sqlalchemy import Engine

from service.inbound import InboundEmail
from service.ingest.nonces import NonceCache
from service.ingest.writer import GroupCommitWriter
from service.queue import BatchingEnqueuer, JobQueue
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.messages import StoreResult


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
