"""arq jobs: ``process_message`` runs a stored message's pipeline; ``sweep_pending`` re-queues."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any

from arq import Retry
from sqlalchemy.exc import OperationalError

from service.runtime.logs import first_line
from service.store.messages import pending_message_ids, set_status
from service.store.models import MessageStatus
from service.store.runs import load_job
from workers.deps import WorkerDeps
from workers.hydrate import hydrate
from workers.pipeline.config import CompiledConfig
from workers.pipeline.engine import JobRun, run_pipeline
from workers.pipeline.selection import select_pipelines

log = logging.getLogger("mailhook.jobs")

MAX_BACKOFF_S = 300.0


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 1 s, 2 s, 4 s … capped, randomised to spread retries."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_S, 2.0 ** max(0, attempt - 1))


async def process_message(ctx: dict[str, Any], message_id: str, after_run: int | None = None) -> str:
    """Run the message's pipelines. ``after_run`` (set by ``mailhook replay``) ignores runs up to
    that id, so the replay starts new runs instead of resuming or skipping earlier ones, while a
    retry of the replay job still resumes what its first attempt did.

    When the database is unavailable (locked, disk, connection lost) the job is retried with
    backoff: arq would otherwise record it as failed for good and keep its result, which also
    stops the sweeper from queueing the message again."""
    try:
        return await _process(ctx["deps"], ctx["compiled"].current, message_id, after_run)
    except OperationalError as exc:
        attempt = int(ctx.get("job_try") or 1)
        log.warning("database unavailable for %s (attempt %d): %s", message_id, attempt, first_line(exc))
        raise Retry(defer=backoff(attempt)) from None


async def _process(deps: WorkerDeps, compiled: CompiledConfig, message_id: str, after_run: int | None) -> str:
    loaded = await deps.txn.run(lambda conn: load_job(conn, message_id, after_run=after_run))
    if loaded is None:
        log.warning("job for unknown message %s", message_id)
        return "missing"
    if loaded.message.status == MessageStatus.processed and after_run is None:
        return "already processed"
    job = JobRun(deps, loaded.message, loaded.attachments, loaded.runs, pending=[])
    await hydrate(job)
    selected = select_pipelines(compiled, job.message, job.attachments)
    if not selected:
        await _finish_unrouted(job)
        return "unrouted"
    for index, (pipeline, route) in enumerate(selected):
        outcome = await run_pipeline(job, pipeline, route, last=index == len(selected) - 1)
        if outcome.status == "retry":
            raise Retry(defer=outcome.retry_after or backoff(outcome.attempts))
        if outcome.status == "failed":
            return "failed"
    return "processed"


async def _finish_unrouted(job: JobRun) -> None:
    writes, job.pending = job.pending, []

    def finish(conn: Any) -> None:
        for write in writes:
            write(conn)
        set_status(conn, job.message.id, MessageStatus.unrouted)

    await job.deps.txn.run(finish)


async def sweep_pending(ctx: dict[str, Any]) -> int:
    """Enqueue messages committed but never queued (Redis was down, or a process died)."""
    deps: WorkerDeps = ctx["deps"]
    ids = await asyncio.to_thread(
        pending_message_ids, deps.engine, older_than=timedelta(seconds=deps.settings.sweep_min_age_s)
    )
    if not ids or deps.queue is None:
        return 0
    added = await deps.queue.enqueue_many(ids)
    if added:
        log.info("sweeper queued %d pending message(s)", added)
    return added
