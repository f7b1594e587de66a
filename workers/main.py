"""arq worker settings, built from ``Settings`` by ``mailhook worker`` (and ``workers.arq_settings``)."""

from __future__ import annotations

import logging
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from service.blobs import BlobStore
from service.config import ConfigHolder
from service.db import make_engine
from service.ingest import freeze_startup_objects
from service.queue import JobQueue
from service.reload import install_sighup_reload
from service.sentry import init_sentry
from service.settings import Settings
from workers.deps import WorkerDeps
from workers.jobs import process_message, sweep_pending
from workers.pipeline.config import compile_config

log = logging.getLogger("mailhook.worker")

# Retries are budgeted per step by the pipeline engine; arq's own cap is only a backstop.
ARQ_MAX_TRIES = 1000


def worker_settings(settings: Settings, *, burst: bool = False) -> dict[str, Any]:
    async def startup(ctx: dict[str, Any]) -> None:
        init_sentry(
            settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
            component="worker",
            environment=settings.environment,
        )
        config = ConfigHolder.load(settings.config)
        compile_config(config.current)  # refuse to start on pipelines/routes that do not compile
        ctx["deps"] = WorkerDeps(
            settings=settings,
            engine=make_engine(settings),
            blobs=BlobStore(settings.blob_dir),
            config=config,
            queue=JobQueue(ctx["redis"], settings.queue_name),
        )
        install_sighup_reload(config, validate=compile_config)
        freeze_startup_objects()
        await sweep_pending(ctx)

    async def shutdown(ctx: dict[str, Any]) -> None:
        deps: WorkerDeps | None = ctx.get("deps")
        if deps is not None:
            await deps.aclose()

    return {
        "functions": [func(process_message, name="process_message", max_tries=ARQ_MAX_TRIES)],  # type: ignore[arg-type]
        # A burst worker drains the queue and exits (tests, benchmarks, one-off catch-up): the
        # start-up sweep covers it, and a cron firing mid-burst would only add a stray job.
        "cron_jobs": [] if burst else [cron(sweep_pending, second={0, 30}, run_at_startup=False, unique=True)],  # type: ignore[arg-type]
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": 0.05,
        "keep_result": 3600,
        "burst": burst,
        "handle_signals": not burst,
    }
