"""The read API's store on PostgreSQL: recipient rows from the portable insert path, indexed
filters, claims, deletes, and waits over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from service.cli.web import create_web_app
from service.config import SuppressionConfig
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.bounce_writes import record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from service.store.messages import store_batch
from service.store.reads import MessageQuery, claim_oldest, delete_message, list_page
from service.store.recipients import split_address
from service.store.tokens import Scope
from tests.support.api import bearer, deliver, make_token
from tests.support.servers import serve_in_thread
from tests.test_postgres import pg_settings  # noqa: F401  (the fixture)
from tests.test_store_reads import _email

pytestmark = pytest.mark.postgres


def test_recipients_filters_claims_and_deletes(pg_settings: Settings) -> None:  # noqa: F811
    engine, blobs = make_engine(pg_settings), BlobStore(pg_settings.blob_dir)
    stored = store_batch(engine, blobs, [_email("Signup+A@x.org"), _email("signup+b@x.org"), _email("other@x.org")])
    base = list_page(engine, MessageQuery(to=split_address("signup@x.org")), limit=10)
    assert [m.id for m in base] == [stored[1].message_id, stored[0].message_id]
    assert [m.id for m in list_page(engine, MessageQuery(tag="a"), limit=10)] == [stored[0].message_id]
    assert [m.id for m in list_page(engine, MessageQuery(subject=None, sender=None), limit=1)] == [stored[2].message_id]
    query = MessageQuery(to=split_address("signup@x.org"))
    claimed = [claim_oldest(engine, query) for _ in range(3)]
    assert claimed == [stored[0].message_id, stored[1].message_id, None]
    assert delete_message(engine, stored[0].message_id) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM messagerecipient")).scalar() == 2
    engine.dispose()


async def test_wait_and_list_over_http(pg_settings: Settings, write_config: Callable[..., Path]) -> None:  # noqa: F811
    write_config()
    with serve_in_thread(create_web_app(pg_settings)) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(make_token(pg_settings, Scope.admin))) as api:
            cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
            waiter = asyncio.create_task(
                api.get("/api/v1/wait", params={"to": "pg+1@qa.example.com", "since": cursor, "claim": "true"})
            )
            await asyncio.sleep(0.3)
            mid = await deliver(api, "pg+1@qa.example.com", code="135790")
            response = await waiter
            assert response.json()["message"]["code"] == "135790"
            listed = await api.get("/api/v1/messages", params={"to": "PG@qa.example.com", "subject": "confirm"})
            assert [item["id"] for item in listed.json()["items"]] == [mid]
            assert (await api.delete(f"/api/v1/messages/{mid}")).status_code == 204


async def test_bounce_pages_and_suppressions_over_http(
    pg_settings: Settings,  # noqa: F811
    write_config: Callable[..., Path],
) -> None:
    """Keyset pages compare timestamps as PostgreSQL stores them; expiries and addresses too."""
    write_config()
    engine = make_engine(pg_settings)
    events = [_bounce(f"pg{i}", f"r{i}@example.org", T0 + timedelta(seconds=i // 3)) for i in range(7)]
    record_events(engine, events, SuppressionConfig())
    engine.dispose()
    with serve_in_thread(create_web_app(pg_settings)) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(make_token(pg_settings, Scope.admin))) as api:
            seen, params = [], {"limit": "2"}
            while True:
                page = (await api.get("/api/v1/bounces", params=params)).json()
                seen += [item["recipient"] for item in page["items"]]
                if page["next_cursor"] is None:
                    break
                params["cursor"] = page["next_cursor"]
            assert seen == [f"r{i}@example.org" for i in (6, 5, 4, 3, 2, 1, 0)]
            window = {"since": T0.isoformat(), "until": (T0 + timedelta(seconds=1)).isoformat(), "kind": "hard"}
            assert len((await api.get("/api/v1/bounces", params=window)).json()["items"]) == 3
            soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            made = await api.post("/api/v1/suppressions", json={"address": "Ada@Example.org", "expires_at": soon})
            assert made.status_code == 201, made.text
            listed = (await api.get("/api/v1/suppressions", params={"address": "ada@example.org"})).json()["items"]
            assert [e["address"] for e in listed] == ["ada@example.org"]
            assert (await api.delete("/api/v1/suppressions/ada@example.org")).status_code == 204


T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _bounce(key: str, recipient: str, when: datetime) -> BounceEventCreate:
    return BounceEventCreate(
        source="ses",
        provider="ses",
        provider_event_id=key,
        recipient=recipient,
        kind="hard",
        reason="user_unknown",
        occurred_at=when,
    )
