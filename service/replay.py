"""``mailhook replay``: run a stored message's pipeline again."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis
from sqlmodel import Session

from service.queue import JobQueue
from service.settings import Settings
from service.store.db import make_engine
from service.store.messages import get_message, set_status
from service.store.models import MessageStatus
from service.store.runs import latest_run_id, reopen_failed_runs


async def replay_message(settings: Settings, message_id: str, *, resume: bool, echo: Callable[[str], None]) -> int:
    engine = make_engine(settings)
    with Session(engine) as session:
        message = get_message(session, message_id)
        if message is None:
            echo(f"no message with id {message_id}")
            return 1
    if resume:
        reopened = reopen_failed_runs(engine, message_id)
        echo(f"resuming {reopened} failed run(s) at their failed step")
    kwargs: dict[str, object] = {}
    if not resume:
        with engine.connect() as conn:
            kwargs["after_run"] = latest_run_id(conn, message_id)
    set_status(engine, message_id, MessageStatus.pending)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2.0)
    try:
        # A fresh job id: the original job's result may still be kept, which would block it.
        await JobQueue(redis, settings.queue_name).enqueue_many(
            [message_id], job_suffix=f":replay:{time.time_ns()}", kwargs=kwargs
        )
    finally:
        await redis.aclose()
    echo(f"queued {message_id} for replay")
    return 0
