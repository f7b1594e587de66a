"""The same spine on PostgreSQL: migrations, duplicate-safe group commit, a pipeline run.

Runs when MAILHOOK_TEST_POSTGRES_URL names a server where the user may create databases
(CI starts one); skips otherwise, or fails when MAILHOOK_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.messages import store_batch
from service.store.migrate import pending_revisions, upgrade
from service.store.models import Message
from service.web.app import create_app
from tests.conftest import IMPROVMX_SECRET, fixture_bytes
from tests.support.servers import FakeSlack, serve_in_thread

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(settings: Settings) -> Iterator[Settings]:
    url = os.environ.get("MAILHOOK_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("MAILHOOK_REQUIRE_POSTGRES") == "1":
            pytest.fail("MAILHOOK_REQUIRE_POSTGRES=1 but MAILHOOK_TEST_POSTGRES_URL is not set")
        pytest.skip("set MAILHOOK_TEST_POSTGRES_URL to run the PostgreSQL tests")
    name = f"mailhook_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(Settings(database_url=url).database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg = settings.model_copy(
        update={
            "database_url": make_url(Settings(database_url=url).database_url).set(database=name).render_as_string(False)
        }
    )
    engine = make_engine(pg)
    upgrade(engine)
    engine.dispose()
    yield pg
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_apply_and_are_current(pg_settings: Settings) -> None:
    assert pending_revisions(make_engine(pg_settings)) == []


async def test_concurrent_duplicates_share_one_row_on_postgres(
    pg_settings: Settings, write_config: Callable[..., Path]
) -> None:
    write_config()
    with serve_in_thread(create_app(pg_settings)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            body = fixture_bytes("improvmx/otp.json")
            responses = await asyncio.gather(
                *(client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=body) for _ in range(10))
            )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["messages"][0]["id"] for r in responses}) == 1
    with Session(make_engine(pg_settings)) as session:
        assert len(list(session.exec(select(Message)))) == 1


def test_store_batch_is_idempotent_across_batches(pg_settings: Settings) -> None:
    from service.config import parse_config
    from service.providers import INBOUND_PROVIDERS
    from service.providers.base import Delivery

    source = parse_config(f"sources: [{{name: improvmx, provider: improvmx, secrets: ['{IMPROVMX_SECRET}']}}]").sources[
        0
    ]
    [email] = INBOUND_PROVIDERS["improvmx"]().parse(Delivery(source, fixture_bytes("improvmx/otp.json"), {}, {}))
    engine, blobs = make_engine(pg_settings), BlobStore(pg_settings.blob_dir)
    [first] = store_batch(engine, blobs, [email])
    again = store_batch(engine, blobs, [email, email])
    assert not first.duplicate and all(r.duplicate and r.message_id == first.message_id for r in again)


async def test_pipeline_runs_to_slack_on_postgres(
    pg_settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    with serve_in_thread(create_app(pg_settings)) as base:
        response = httpx.post(f"{base}/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
        assert response.status_code == 200
    await run_worker(database_url=pg_settings.database_url)
    assert len(slack.posts) == 1 and "731904" in slack.posts[0]["text"]
    with Session(make_engine(pg_settings)) as session:
        assert [m.status for m in session.exec(select(Message))] == ["processed"]


@pytest.mark.parametrize("escape", [b"\\u0000", b"\\ud800"])
async def test_nul_and_lone_surrogates_are_stored_repaired_on_postgres(
    pg_settings: Settings, write_config: Callable[..., Path], escape: bytes
) -> None:
    # PostgreSQL refuses NUL in text where SQLite takes it: unrepaired, such a delivery failed
    # its group commit and was answered 503 (a poison delivery that looks like an outage).
    write_config()
    body = fixture_bytes("improvmx/otp.json").replace(b'"subject": "', b'"subject": "' + escape, 1)
    assert body != fixture_bytes("improvmx/otp.json")
    with serve_in_thread(create_app(pg_settings)) as base:
        response = httpx.post(f"{base}/hooks/improvmx/{IMPROVMX_SECRET}", content=body)
    assert response.status_code == 200, response.text
    with Session(make_engine(pg_settings)) as session:
        [message] = session.exec(select(Message))
    assert message.subject is not None and message.subject.startswith("\ufffd")
    assert any(d.startswith("unstorable_text: replaced in subject") for d in message.defects)


async def test_raw_mime_body_with_nul_is_hydrated_on_postgres(
    pg_settings: Settings, run_worker: Callable[..., Any]
) -> None:
    # The worker fills text from the raw message; a NUL in the body failed that UPDATE.
    pg_settings.config.write_text(f"sources: [{{name: raw, provider: raw, secrets: ['{IMPROVMX_SECRET}']}}]\n")
    mime = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: nul\r\n\r\ncode\x00 246810\r\n"
    with serve_in_thread(create_app(pg_settings)) as base:
        response = httpx.post(f"{base}/hooks/raw/{IMPROVMX_SECRET}", content=mime, params={"to": "b@example.net"})
        assert response.status_code == 200, response.text
    await run_worker(database_url=pg_settings.database_url)
    with Session(make_engine(pg_settings)) as session:
        [message] = session.exec(select(Message))
    assert message.status == "processed" and message.text == "code\ufffd 246810\r\n"
