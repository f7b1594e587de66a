"""Shared fixtures: a real Redis, a fresh migrated SQLite per test, real HTTP servers."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis as SyncRedis

from service.cli.embedded_redis import EmbeddedRedis
from service.cli.runner import build_worker
from service.cli.web import create_web_app
from service.settings import Settings
from service.store.db import make_engine
from service.store.migrate import upgrade
from tests.support.fakes.sns import stop_fake_sns
from tests.support.servers import SLACK_PATH, FakeSlack, serve_in_thread

FIXTURES = Path(__file__).parent / "fixtures"
PROXIEDMAIL_SECRET = "pm-secret-0123456789abcdef"
IMPROVMX_SECRET = "imx-secret-0123456789abcdef"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fixture_json(relative: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(relative))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once with alembic; each test gets a copy (real schema, fast isolation)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def settings(tmp_path: Path, redis_server: EmbeddedRedis, migrated_template: Path) -> Settings:
    SyncRedis.from_url(redis_server.url).flushall()
    db = tmp_path / "mailhook.db"
    shutil.copy(migrated_template, db)
    return Settings(
        database_url=f"sqlite:///{db}",
        redis_url=redis_server.url,
        config=tmp_path / "mailhook.yaml",
        data_dir=tmp_path / "var",
        job_max_tries=3,
        sweep_min_age_s=0,
        # SNS signing certificates come from tests.support.fakes.sns's loopback server, not AWS.
        sns_cert_origin=r"http://127\.0\.0\.1:\d+",
    )


@pytest.fixture
def fake_slack() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack()
    with serve_in_thread(slack.app()) as base:
        yield slack, base + SLACK_PATH


@pytest.fixture
def write_config(settings: Settings) -> Callable[..., Path]:
    def write(*, slack_url: str | None = None, allow_hosts: tuple[str, ...] = ("127.0.0.1",), extra: str = "") -> Path:
        text = f"""
        sources:
          - name: proxiedmail
            provider: proxiedmail
            secrets: ["{PROXIEDMAIL_SECRET}"]
          - name: improvmx
            provider: improvmx
            secrets: ["old-{IMPROVMX_SECRET}", "{IMPROVMX_SECRET}"]
        outbound:
          allow_hosts: {json.dumps(list(allow_hosts))}
        """
        text = textwrap.dedent(text)
        if slack_url:
            text += f"slack:\n  webhook_url: {slack_url}\n"
        settings.config.write_text(text + textwrap.dedent(extra))
        return settings.config

    return write


@pytest.fixture
def live_app(settings: Settings, write_config: Callable[..., Path]) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port (config written before start)."""
    if not settings.config.exists():
        write_config()
    with serve_in_thread(create_web_app(settings)) as base:
        yield base


@pytest.fixture
async def client(live_app: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_app, timeout=15) as http:
        yield http


@pytest.fixture
def run_worker(settings: Settings) -> Callable[..., Any]:
    """Run a real arq worker in burst mode until the queue is empty; return it for its counters."""

    async def run(**overrides: Any) -> Any:
        worker = build_worker(settings.model_copy(update=overrides) if overrides else settings, burst=True)
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker

    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Servers started once per process stop with the session, not during interpreter exit."""
    stop_fake_sns()
