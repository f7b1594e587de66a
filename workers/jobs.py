"""arq jobs: ``process_message`` runs a stored message's pipeline; ``sweep_pending`` re-queues."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any

from arq import Retry
from sqlmodel import Session

from service.models import Attachment, Message, MessageStatus
from service.storage import get_message, list_attachments, pending_message_ids, set_status
from workers.deps import WorkerDeps
from workers.hydrate import hydrate
from workers.pipeline.engine import run_pipeline
from workers.pipeline.selection import select_pipelines

log = logging.getLogger("mailhook.jobs")

MAX_BACKOFF_S = 300.0


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 1 s, 2 s, 4 s … capped, randomised to spread retries."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_S, 2.0 ** max(0, attempt - 1))


async def process_message(ctx: dict[str, Any], message_id: str, fresh: bool = False) -> str:
    """Run the message's pipelines. ``fresh`` (set by ``mailhook replay``) starts new runs
    instead of resuming or skipping earlier ones."""
    deps: WorkerDeps = ctx["deps"]
    loaded = await asyncio.to_thread(_load, deps, message_id)
    if loaded is None:
        log.warning("job for unknown message %s", message_id)
        return "missing"
    message, attachments = loaded
    if message.status == MessageStatus.processed and not fresh:
        return "already processed"
    attachments = await hydrate(deps, message, attachments)
    selected = select_pipelines(deps.compiled(), message, attachments)
    if not selected:
        await asyncio.to_thread(set_status, deps.engine, message_id, MessageStatus.unrouted)
        return "unrouted"
    for index, (pipeline, route) in enumerate(selected):
        first, last = index == 0, index == len(selected) - 1
        outcome = await run_pipeline(deps, message, pipeline, route, first=first, last=last, fresh=fresh)
        if outcome.status == "retry":
            raise Retry(defer=outcome.retry_after or backoff(outcome.attempts))
        if outcome.status == "failed":
            return "failed"
    return "processed"


def _load(deps: WorkerDeps, message_id: str) -> tuple[Message, list[Attachment]] | None:
    with Session(deps.engine) as session:
        message = get_message(session, message_id)
        if message is None:
            return None
        attachments = list_attachments(session, message_id)
        session.expunge_all()
        return message, attachments


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
