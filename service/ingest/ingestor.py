"""The storage side of ingest shared by every entry point (HTTP app, SMTP server):
group-committing writer plus the batching enqueuer, built from settings and run together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.config import SuppressionConfig
from service.errors import StorageUnavailable
from service.handoff.notify import StoredPublisher
from service.handoff.queue import BatchingEnqueuer, JobQueue
from service.ingest.nonces import NonceCache
from service.ingest.writer import GroupCommitWriter
from service.mail.inbound import InboundEmail
from service.runtime.logs import first_line
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.bounce_writes import RecordedBounce, record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from service.store.messages import StoreResult

log = logging.getLogger("mailhook.ingest")


def make_redis(settings: Settings) -> Redis:
    # Short timeouts: when Redis is down, ingest must still answer quickly (messages stay pending).
    client: Redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)
    return client


class Ingestor:
    """Owns the engine, blob store, Redis client, writer, enqueuer and waiter notifications of
    one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings)
        self.blobs = BlobStore(settings.blob_dir)
        self.redis = make_redis(settings)
        self.nonces = NonceCache(self.redis)
        self.queue = JobQueue(self.redis, settings.queue_name)
        self.enqueuer = BatchingEnqueuer(self.queue)
        self.publisher = StoredPublisher(self.redis, settings.notify_channel)
        self.writer = GroupCommitWriter(
            self.engine,
            self.blobs,
            max_batch=settings.commit_max_batch,
            window_s=settings.commit_window_ms / 1000,
            on_stored=self._stored,
        )

    def _stored(self, created: list[tuple[str, InboundEmail]]) -> None:
        self.publisher.add(created)
        self.enqueuer.add([message_id for message_id, _ in created])

    async def start(self) -> None:
        await self.writer.start()
        await self.enqueuer.start()
        await self.publisher.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.enqueuer.stop()
        await self.publisher.stop()
        await self.redis.aclose()
        self.engine.dispose()

    async def store(self, emails: Sequence[InboundEmail]) -> list[StoreResult]:
        """Durably store (raises ``StorageUnavailable``); queueing follows in the background."""
        return await self.writer.submit(emails)

    async def store_bounces(
        self, events: Sequence[BounceEventCreate], policy: SuppressionConfig
    ) -> list[RecordedBounce]:
        """Durably store bounce events, all or none (raises ``StorageUnavailable``). Bounces are
        rare next to mail, so they take their own short transaction instead of the group commit."""
        if not events:
            return []
        try:
            return await asyncio.to_thread(record_events, self.engine, events, policy)
        except SQLAlchemyError as exc:
            log.error("storing %d bounce event(s) failed: %s", len(events), first_line(exc))
            raise StorageUnavailable("the bounce store is unavailable; retry later") from None
