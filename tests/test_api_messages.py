"""The read API over real HTTP: lists and filters, pages, one message, raw, attachments, delete
and replay, on a real app with real SQLite and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlmodel import Session, select

from service.cli.inspect import inspect_stored
from service.config import parse_config
from service.handoff.queue import JobQueue
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.models import Attachment, Message
from service.store.tokens import Scope
from tests.support.api import RAW_SOURCE, bearer, deliver, deliver_raw, make_token
from workers.pipeline.config import compile_config


@pytest.fixture
def raw_config(settings: Settings) -> None:
    settings.config.write_text(RAW_SOURCE)


@pytest.fixture
async def api(raw_config: None, client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client.headers.update(bearer(make_token(settings)))
    yield client


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def test_list_is_newest_first_with_code_links_and_recipient(api: httpx.AsyncClient) -> None:
    first = await deliver(api, "signup+a@qa.example.com", code="111222")
    second = await deliver(api, "signup+b@qa.example.com", code="333444")
    page = (await api.get("/api/v1/messages")).json()
    assert _ids(page) == [second, first]
    assert page["next_cursor"] is None
    item = page["items"][0]
    assert item["recipient"] == "signup+b@qa.example.com"
    assert item["code"] == "333444"
    assert item["links"] == ["https://example.net/verify?t=333444"]
    assert item["from"] == {"name": "Widget Co", "address": "no-reply@example.net"}
    assert item["status"] == "pending" and item["source"] == "improvmx" and item["provider"] == "improvmx"


async def test_base_address_matches_every_plus_tag_and_exact_only_itself(api: httpx.AsyncClient) -> None:
    plain = await deliver(api, "signup@qa.example.com")
    run1 = await deliver(api, "Signup+Run1@QA.example.com")
    run2 = await deliver(api, "signup+run2@qa.example.com")
    await deliver(api, "other@qa.example.com")
    assert _ids((await api.get("/api/v1/messages", params={"to": "signup@qa.example.com"})).json()) == [
        run2,
        run1,
        plain,
    ]
    exact = await api.get("/api/v1/messages", params={"to": "signup+run1@qa.example.com"})
    assert _ids(exact.json()) == [run1]
    assert _ids((await api.get("/api/v1/messages", params={"tag": "RUN2"})).json()) == [run2]
    both = await api.get("/api/v1/messages", params={"to": "signup@qa.example.com", "tag": "run1"})
    assert _ids(both.json()) == [run1]


async def test_filters_combine(api: httpx.AsyncClient) -> None:
    welcome = await deliver(api, "a@qa.example.com", subject="Welcome aboard")
    await deliver(api, "a@qa.example.com", subject="Reset your password", code="999000")
    assert _ids((await api.get("/api/v1/messages", params={"subject": "WELCOME"})).json()) == [welcome]
    text = await api.get("/api/v1/messages", params={"text": "999000"})
    assert len(text.json()["items"]) == 1
    sender = await api.get("/api/v1/messages", params={"from": "No-Reply@example.net", "subject": "welcome"})
    assert _ids(sender.json()) == [welcome]
    assert (await api.get("/api/v1/messages", params={"source": "raw"})).json()["items"] == []
    assert len((await api.get("/api/v1/messages", params={"status": "pending"})).json()["items"]) == 2
    assert (await api.get("/api/v1/messages", params={"status": "unrouted"})).json()["items"] == []


async def test_cursor_pages_walk_everything_once(api: httpx.AsyncClient) -> None:
    ids = [await deliver(api, "pages@qa.example.com") for _ in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await api.get("/api/v1/messages", params=params)).json()
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == list(reversed(ids))


async def test_since_and_until_take_cursors_and_timestamps(api: httpx.AsyncClient) -> None:
    old = await deliver(api, "t@qa.example.com")
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    new = await deliver(api, "t@qa.example.com")
    assert _ids((await api.get("/api/v1/messages", params={"since": cursor})).json()) == [new]
    assert _ids((await api.get("/api/v1/messages", params={"until": cursor})).json()) == [old]
    assert _ids((await api.get("/api/v1/messages", params={"since": "2000-01-01T00:00:00Z"})).json()) == [new, old]
    assert (await api.get("/api/v1/messages", params={"since": "2999-01-01T00:00:00+02:00"})).json()["items"] == []
    assert _ids((await api.get("/api/v1/messages", params={"since": "946684800"})).json()) == [new, old]


async def test_detail_has_bodies_headers_attachments_and_inspects_code(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    mid = await deliver(api, "d@qa.example.com", code="246810")
    detail = (await api.get(f"/api/v1/messages/{mid}")).json()
    assert detail["code"] == "246810"
    inspected = _inspected(settings, mid)
    assert (detail["code"], detail["links"]) == (inspected["code"], inspected["links"])
    assert "246810" in detail["text"] and "<strong>246810</strong>" in detail["html"]
    assert ["Delivered-To", "d@qa.example.com"] in detail["headers"]
    assert [a["filename"] for a in detail["attachments"]] == ["terms.txt", "logo.png"]
    assert detail["attachments"][0] == {
        "position": 0,
        "filename": "terms.txt",
        "content_type": "text/plain",
        "size": 27,
        "content_id": None,
        "disposition": "attachment",
    }
    assert detail["runs"] == [] and detail["bounce"] is None and isinstance(detail["auth"], dict)
    assert (await api.get("/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa")).status_code == 404
    assert (await api.get("/api/v1/messages/not-an-id")).json()["error"] == "not_found"


async def test_raw_mime_mail_has_its_code_before_any_worker_ran(api: httpx.AsyncClient, settings: Settings) -> None:
    """SMTP/raw mail stores only headers at ingest; the API parses the raw MIME itself, and finds
    the same code and links as `mailhook inspect`."""
    mid = await deliver_raw(api, "raw+1@qa.example.com", code="482913")
    item = (await api.get("/api/v1/messages", params={"to": "raw+1@qa.example.com"})).json()["items"][0]
    inspected = _inspected(settings, mid)
    assert (
        (item["code"], item["links"])
        == (inspected["code"], inspected["links"])
        == (
            "482913",
            ["https://acme.example/login?token=482913abc"],
        )
    )
    detail = (await api.get(f"/api/v1/messages/{mid}")).json()
    assert "Your verification code is 482913" in detail["text"]
    assert detail["attachments"][0]["filename"] == "Rechnung März.pdf"
    download = await api.get(f"/api/v1/messages/{mid}/attachments/0")
    assert download.content == b"%PDF-1.4 test"
    raw = await api.get(f"/api/v1/messages/{mid}/raw")
    assert raw.headers["content-type"] == "message/rfc822"
    assert b"Your verification code is 482913" in raw.content


def _inspected(settings: Settings, message_id: str) -> dict[str, Any]:
    """What `mailhook inspect` reports for a stored message."""
    engine = make_engine(settings)
    with Session(engine) as session:
        found = inspect_stored(
            session, message_id, compile_config(parse_config("sources: []")), BlobStore(settings.blob_dir)
        )
    engine.dispose()
    return found


async def test_attachments_are_downloads_with_a_safe_filename(api: httpx.AsyncClient) -> None:
    mid = await deliver(
        api,
        "files@qa.example.com",
        attachments=[
            {"type": "text/html", "name": '../../etc/"evil".html', "content": "PGgxPmhpPC9oMT4="},
            {"type": "text/plain\r\nX-Injected: 1", "name": "résumé.txt", "content": "aGk="},
        ],
        inlines=[],
    )
    first = await api.get(f"/api/v1/messages/{mid}/attachments/0")
    assert first.content == b"<h1>hi</h1>"
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["content-disposition"] == (
        "attachment; filename=\"_evil_.html\"; filename*=UTF-8''%22evil%22.html"
    )
    second = await api.get(f"/api/v1/messages/{mid}/attachments/1")
    assert second.headers["content-type"] == "application/octet-stream"
    assert "x-injected" not in second.headers
    assert second.headers["content-disposition"] == (
        "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )
    assert (await api.get(f"/api/v1/messages/{mid}/attachments/2")).status_code == 404


async def test_raw_of_a_provider_delivery_is_its_payload(api: httpx.AsyncClient) -> None:
    mid = await deliver(api, "payload@qa.example.com")
    raw = await api.get(f"/api/v1/messages/{mid}/raw")
    assert raw.headers["content-type"] == "application/json"
    assert raw.json()["headers"]["Delivered-To"] == "payload@qa.example.com"


async def test_delete_needs_admin_and_removes_only_blobs_nothing_else_references(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    shared_logo_a = await deliver(api, "del@qa.example.com")
    shared_logo_b = await deliver(api, "del@qa.example.com")
    raw_id = await deliver_raw(api, "del-raw@qa.example.com")
    engine = make_engine(settings)
    with Session(engine) as session:
        shas = {a.sha256 for a in session.exec(select(Attachment).where(Attachment.message_id == shared_logo_a))}
        raw_row = session.get(Message, raw_id)
        assert raw_row is not None
        raw_sha = raw_row.raw_mime_sha256
    blobs = BlobStore(settings.blob_dir)
    assert (await api.delete(f"/api/v1/messages/{shared_logo_a}")).status_code == 403
    admin = bearer(make_token(settings, Scope.admin))
    assert (await api.delete(f"/api/v1/messages/{shared_logo_a}", headers=admin)).status_code == 204
    assert all(blobs.exists(sha) for sha in shas)  # message b still carries the same attachments
    assert (await api.get(f"/api/v1/messages/{shared_logo_a}")).status_code == 404
    assert (await api.delete(f"/api/v1/messages/{shared_logo_b}", headers=admin)).status_code == 204
    assert not any(blobs.exists(sha) for sha in shas)
    assert raw_sha and blobs.exists(raw_sha)
    assert (await api.delete(f"/api/v1/messages/{raw_id}", headers=admin)).status_code == 204
    assert not blobs.exists(raw_sha)
    assert (await api.delete(f"/api/v1/messages/{raw_id}", headers=admin)).status_code == 404
    # The same content arriving again after its blob was deleted is stored again, not assumed present.
    again = await deliver(api, "del@qa.example.com")
    assert (await api.get(f"/api/v1/messages/{again}/attachments/0")).content == b"Terms and conditions apply."
    engine.dispose()


async def test_replay_needs_admin_and_queues_a_job(
    api: httpx.AsyncClient, settings: Settings, run_worker: Callable[..., Any]
) -> None:
    mid = await deliver(api, "replay@qa.example.com")
    await run_worker()
    assert (await api.post(f"/api/v1/messages/{mid}/replay")).status_code == 403
    admin = bearer(make_token(settings, Scope.admin))
    response = await api.post(f"/api/v1/messages/{mid}/replay", headers=admin)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "message_id": mid}
    worker = await run_worker()
    assert worker.jobs_complete == 1
    detail = (await api.get(f"/api/v1/messages/{mid}")).json()
    assert detail["status"] == "processed"
    assert len(detail["runs"]) == 2 and all(run["status"] == "succeeded" for run in detail["runs"])
    assert detail["runs"][0]["steps"][0]["position"] == 0
    assert (await api.post("/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa/replay", headers=admin)).status_code == 404


async def test_replay_while_the_queue_is_down_is_503_and_leaves_the_message_pending(
    api: httpx.AsyncClient, settings: Settings, run_worker: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = await deliver(api, "replay-down@qa.example.com")
    await run_worker()

    async def refused(self: JobQueue, *args: Any, **kwargs: Any) -> int:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(JobQueue, "enqueue_many", refused)
    response = await api.post(f"/api/v1/messages/{mid}/replay", headers=bearer(make_token(settings, Scope.admin)))
    assert response.status_code == 503
    assert response.json() == {
        "error": "storage_unavailable",
        "message": "the job queue is unavailable (ConnectionError); retry later",
    }
    assert (await api.get(f"/api/v1/messages/{mid}")).json()["status"] == "pending"  # the sweeper queues it
