"""Nothing lost: Redis down still means 200 (and the sweeper catches up); database down means 503."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from service.cli.embedded_redis import free_port
from service.settings import Settings
from service.store.db import make_engine
from service.store.models import Message
from service.web.app import create_app
from tests.conftest import IMPROVMX_SECRET, fixture_bytes
from tests.support.servers import FakeSlack, serve_in_thread


def _statuses(settings: Settings) -> list[str]:
    with Session(make_engine(settings)) as session:
        return [m.status for m in session.exec(select(Message))]


async def test_redis_down_still_accepts_and_sweeper_enqueues_later(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    no_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with serve_in_thread(create_app(no_redis)) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.post(
                f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json")
            )
            assert response.status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("error")
    assert _statuses(settings) == ["pending"]
    # Redis is back: the worker's start-up sweep finds the pending message and runs it.
    await run_worker()
    assert _statuses(settings) == ["processed"]
    assert len(slack.posts) == 1 and "731904" in slack.posts[0]["text"]


async def test_database_unavailable_answers_503_so_the_provider_retries(
    settings: Settings, write_config: Callable[..., Path]
) -> None:
    write_config()
    impatient = settings.model_copy(update={"database_busy_timeout_ms": 200})
    db_path = settings.database_url.removeprefix("sqlite:///")
    with serve_in_thread(create_app(impatient)) as base:
        locker = sqlite3.connect(db_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                response = await client.post(
                    f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json")
                )
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert response.status_code == 503
        assert response.json()["error"] == "storage_unavailable"
        assert response.headers["retry-after"]
        # Once the database is back, the provider's retry is stored normally.
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            retry = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
        assert retry.status_code == 200
    assert _statuses(settings) == ["pending"]
