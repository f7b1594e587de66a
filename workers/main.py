"""The arq worker: ``WorkerSettings`` built from ``Settings`` (``mailhook worker``, ``workers.arq_settings``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings

from service.config import ConfigHolder
from service.handoff.queue import HEALTH_CHECK_INTERVAL_S, JobQueue
from service.runtime.process import freeze_startup_objects
from service.runtime.reload import install_sighup_reload
from service.runtime.sentry import init_sentry
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from workers.bouncelogs.job import pull_bounce_logs
from workers.deps import WorkerDeps
from workers.jobs import process_message, sweep_pending
from workers.pipeline.config import CompiledConfigHolder, compile_config

log = logging.getLogger("mailhook.worker")

# Retries are budgeted per step by the pipeline engine; arq's own cap is only a backstop.
ARQ_MAX_TRIES = 1000


class WorkerSettings:
    """arq ``Worker`` options for one Mailhook worker, built from the ``Settings`` passed in.

    Nothing is read at import time: ``mailhook worker`` builds one from its settings, and arq's own
    CLI (``arq workers.arq_settings.WorkerSettings``) builds one from the environment when it asks.
    The instance's attributes are exactly ``arq.Worker``'s keyword arguments (arq reads ``__dict__``).
    """

    def __init__(self, settings: Settings, *, burst: bool = False) -> None:
        self.functions = [func(process_message, name="process_message", max_tries=ARQ_MAX_TRIES)]
        # A burst worker drains the queue and exits (tests, benchmarks, one-off catch-up): the
        # start-up sweep covers it, and a cron firing mid-burst would only add a stray job.
        # pull_bounce_logs ticks every minute; each bounce_logs account keeps its own schedule.
        self.cron_jobs = (
            []
            if burst
            else [
                cron(sweep_pending, second={0, 30}, run_at_startup=False, unique=True),
                cron(pull_bounce_logs, second={15}, run_at_startup=False, unique=True, timeout=900),
            ]
        )
        self.on_startup = _startup(settings)
        self.on_shutdown = _shutdown
        self.redis_settings = RedisSettings.from_dsn(settings.redis_url)
        self.queue_name = settings.queue_name
        self.max_jobs = settings.worker_max_jobs
        self.poll_delay = 0.05
        self.keep_result = 3600
        self.health_check_interval = HEALTH_CHECK_INTERVAL_S
        self.burst = burst
        self.handle_signals = not burst

    def as_kwargs(self) -> dict[str, Any]:
        return dict(vars(self))


def _startup(settings: Settings) -> Callable[[dict[str, Any]], Awaitable[None]]:
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
        ctx["compiled"] = CompiledConfigHolder(config)
        install_sighup_reload(config, validate=compile_config)
        freeze_startup_objects()
        await sweep_pending(ctx)

    return startup


async def _shutdown(ctx: dict[str, Any]) -> None:
    deps: WorkerDeps | None = ctx.get("deps")
    if deps is not None:
        await deps.aclose()
