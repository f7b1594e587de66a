"""``create_app(settings)``: the Starlette application, with resources held in lifespan state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette

from service.blobs import BlobStore
from service.config import ConfigHolder
from service.db import make_engine
from service.errors import EXCEPTION_HANDLERS
from service.queue import BatchingEnqueuer, JobQueue
from service.routes import ROUTES
from service.sentry import init_sentry
from service.settings import Settings
from service.state import AppState
from service.writer import GroupCommitWriter


def make_redis(settings: Settings) -> Redis:
    # Short timeouts: when Redis is down, ingest must still answer quickly (messages stay pending).
    return Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    init_sentry(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
        component="web",
        environment=settings.environment,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings)
        blobs = BlobStore(settings.blob_dir)
        redis = make_redis(settings)
        enqueuer = BatchingEnqueuer(JobQueue(redis, settings.queue_name))
        writer = GroupCommitWriter(
            engine,
            blobs,
            max_batch=settings.commit_max_batch,
            window_s=settings.commit_window_ms / 1000,
            on_stored=enqueuer.add,
        )
        app.state.mailhook = AppState(
            settings=settings,
            config=ConfigHolder.load(settings.config),
            engine=engine,
            blobs=blobs,
            redis=redis,
            writer=writer,
            enqueuer=enqueuer,
        )
        await writer.start()
        await enqueuer.start()
        try:
            yield
        finally:
            await writer.stop()
            await enqueuer.stop()
            await redis.aclose()
            engine.dispose()

    return Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)  # type: ignore[arg-type]
