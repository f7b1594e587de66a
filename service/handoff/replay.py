"""Running a stored message's pipeline again: ``mailhook replay`` and ``POST /api/v1/messages/{id}/replay``."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis
from sqlalchemy import Engine
from sqlmodel import Session

from service.handoff.queue import JobQueue
from service.settings import Settings
from service.store.db import make_engine
from service.store.messages import get_message, set_status
from service.store.models import MessageStatus
from service.store.runs import latest_run_id, reopen_failed_runs


def prepare_replay(engine: Engine, message_id: str, *, resume: bool) -> dict[str, object] | None:
    """Reset the message for another run; the job's keyword arguments, or ``None`` if there is
    no such message. ``resume`` reopens failed runs at their failed step instead of starting anew."""
    with Session(engine) as session:
        if get_message(session, message_id) is None:
            return None
    kwargs: dict[str, object] = {}
    if resume:
        reopen_failed_runs(engine, message_id)
    else:
        with engine.connect() as conn:
            kwargs["after_run"] = latest_run_id(conn, message_id)
    with engine.begin() as conn:
        set_status(conn, message_id, MessageStatus.pending)
    return kwargs


async def enqueue_replay(queue: JobQueue, message_id: str, kwargs: dict[str, object]) -> None:
    """Queue the replay job. Raises ``RedisError``."""
    # A fresh job id: the original job's result may still be kept, which would block it.
    await queue.enqueue_many([message_id], job_suffix=f":replay:{time.time_ns()}", kwargs=kwargs)


async def replay_message(settings: Settings, message_id: str, *, resume: bool, echo: Callable[[str], None]) -> int:
    engine = make_engine(settings)
    kwargs = prepare_replay(engine, message_id, resume=resume)
    if kwargs is None:
        echo(f"no message with id {message_id}")
        return 1
    if resume:
        echo("resuming failed run(s) at their failed step")
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2.0)
    try:
        await enqueue_replay(JobQueue(redis, settings.queue_name), message_id, kwargs)
    finally:
        await redis.aclose()
    echo(f"queued {message_id} for replay")
    return 0
