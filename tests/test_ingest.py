"""Ingest over real HTTP: verify → normalise → store → enqueue, and every way it can be refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import cast

import httpx
import pytest
from redis import Redis
from sqlmodel import Session, select
from starlette.responses import JSONResponse

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.models import Attachment, Message, MessageRaw
from tests.conftest import IMPROVMX_SECRET, PROXIEDMAIL_SECRET, fixture_bytes


def _messages(settings: Settings) -> list[Message]:
    with Session(make_engine(settings)) as session:
        return list(session.exec(select(Message)))


def _queued(settings: Settings) -> list[bytes]:
    # redis-py types a sync client's replies as "maybe awaitable"; this one is a list.
    return cast(list[bytes], Redis.from_url(settings.redis_url).zrange(settings.queue_name, 0, -1))


async def test_proxiedmail_delivery_is_stored_and_queued(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post(
        f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=fixture_bytes("proxiedmail/otp.json")
    )
    assert response.status_code == 200, response.text
    [stored] = response.json()["messages"]
    assert stored["duplicate"] is False
    [message] = _messages(settings)
    assert message.id == stored["id"]
    assert message.provider_event_id == "E706070F-2400-0000-00003CC8"
    assert message.envelope_to == ["x1y2z3@proxiedmail.com"]
    assert message.envelope_from == "accounts@example.org"
    assert (message.from_name, message.from_address) == ("Acme Accounts", "accounts@example.org")
    assert message.subject == "Your Acme sign-in code"
    assert message.message_id == "<CAE1XZ3k9+abc123@mail.example.org>"
    assert [h[0] for h in message.headers][:2] == ["Received", "Received"]
    assert message.received_at.isoformat().startswith("2023-08-28T10:35:36")
    assert message.status == "pending"
    with Session(make_engine(settings)) as session:
        raw = session.get(MessageRaw, message.id)
    assert raw is not None
    kept = json.loads(raw.content())
    assert "token" not in kept["user"], "ProxiedMail's bearer token must never be stored"
    assert kept["payload"]["subject"] == "Your Acme sign-in code"
    assert _queued(settings) == [message.id.encode()]


async def test_improvmx_delivery_with_basic_auth_stores_attachments(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/hooks/improvmx", content=fixture_bytes("improvmx/otp.json"), auth=("improvmx", IMPROVMX_SECRET)
    )
    assert response.status_code == 200, response.text
    [message] = _messages(settings)
    assert message.envelope_to == ["signup@qa.example.com"]
    assert message.envelope_from == "bounces@example.net"
    assert message.message_id == "<7f3c2a10-5a8e-4b1c-9c55-0a2f6b1d3e44@example.net>"
    assert message.to == [{"name": "QA Signup", "address": "signup@qa.example.com"}]
    assert ("Received-SPF" in [h[0] for h in message.headers]) is True
    with Session(make_engine(settings)) as session:
        attachments = list(session.exec(select(Attachment).where(Attachment.message_id == message.id)))
    by_name = {a.filename: a for a in attachments}
    assert set(by_name) == {"terms.txt", "logo.png"}
    assert by_name["logo.png"].content_id == "logo1" and by_name["logo.png"].disposition == "inline"
    assert BlobStore(settings.blob_dir).read(by_name["terms.txt"].sha256) == b"Terms and conditions apply."


async def test_accepted_answer_is_what_jsonresponse_would_send(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
    expected = JSONResponse(response.json())
    assert response.content == expected.body
    assert response.headers["content-type"] == expected.headers["content-type"]
    assert response.headers["content-length"] == expected.headers["content-length"]


async def test_any_configured_secret_is_accepted_for_rotation(client: httpx.AsyncClient) -> None:
    body = fixture_bytes("improvmx/otp.json")
    assert (await client.post(f"/hooks/improvmx/old-{IMPROVMX_SECRET}", content=body)).status_code == 200


async def test_redelivery_creates_no_second_message_or_job(client: httpx.AsyncClient, settings: Settings) -> None:
    body = fixture_bytes("proxiedmail/otp.json")
    first = await client.post(f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=body)
    second = await client.post(f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=body)
    assert first.status_code == second.status_code == 200
    assert second.json()["messages"] == [{"id": first.json()["messages"][0]["id"], "duplicate": True}]
    assert len(_messages(settings)) == 1
    assert len(_queued(settings)) == 1


async def test_concurrent_redeliveries_share_one_message(client: httpx.AsyncClient, settings: Settings) -> None:
    import asyncio

    body = fixture_bytes("improvmx/otp.json")
    url = f"/hooks/improvmx/{IMPROVMX_SECRET}"
    responses = await asyncio.gather(*(client.post(url, content=body) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["messages"][0]["id"] for r in responses}) == 1
    assert len(_messages(settings)) == 1 and len(_queued(settings)) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/proxiedmail/wrong-secret-0123456789",
        "/hooks/nosuchsource/wrong-secret-0123456789",
        f"/hooks/nosuchsource/{PROXIEDMAIL_SECRET}",
        f"/hooks/improvmx/{PROXIEDMAIL_SECRET}",
        "/hooks/proxiedmail",
    ],
)
async def test_wrong_secret_and_unknown_source_get_the_same_401(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, content=fixture_bytes("proxiedmail/otp.json"))
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "unknown source or wrong secret"}


async def test_basic_auth_with_wrong_password_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/hooks/improvmx", content=b"{}", auth=("improvmx", "nope-nope-nope-nope"))
    assert response.status_code == 401
    garbage = {"Authorization": "Basic %%%not-base64"}
    assert (await client.post("/hooks/improvmx", content=b"{}", headers=garbage)).status_code == 401


async def test_oversized_body_is_413_by_content_length(client: httpx.AsyncClient, settings: Settings) -> None:
    too_big = b"x" * (settings.max_body_bytes + 1)
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=too_big)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert _messages(settings) == []


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    chunk = b"x" * (1 << 20)

    async def stream():  # no Content-Length: the limit is enforced while reading
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=stream())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("source", "secret", "body", "message"),
    [
        ("improvmx", IMPROVMX_SECRET, b'{"headers": {', "body is not valid JSON"),
        ("improvmx", IMPROVMX_SECRET, b"\xff\xfe not utf8", "body is not valid"),
        ("improvmx", IMPROVMX_SECRET, b"[1, 2]", "expected a JSON object, got list"),
        ("improvmx", IMPROVMX_SECRET, b"{}", "missing field 'headers'"),
        ("improvmx", IMPROVMX_SECRET, b'{"headers": {}, "from": "a@b"}', "field 'from' must be dict"),
        ("improvmx", IMPROVMX_SECRET, b'{"headers": {"X": 1}, "from": {"email": "a@b"}}', "header 'X'"),
        ("proxiedmail", PROXIEDMAIL_SECRET, b'{"id": "x"}', "missing field 'payload'"),
        ("proxiedmail", PROXIEDMAIL_SECRET, b'{"id": 5, "payload": {}}', "field 'id' must be str"),
        ("proxiedmail", PROXIEDMAIL_SECRET, b'{"id": "x", "payload": {"message-headers": "[1]"}}', "message-headers"),
        ("proxiedmail", PROXIEDMAIL_SECRET, b"", "body is not valid JSON"),
    ],
)
async def test_malformed_or_wrong_shape_json_is_400_with_reason(
    client: httpx.AsyncClient, settings: Settings, source: str, secret: str, body: bytes, message: str
) -> None:
    response = await client.post(f"/hooks/{source}/{secret}", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_payload"
    assert message in response.json()["message"]
    assert _messages(settings) == []


async def test_bad_base64_attachment_is_400(client: httpx.AsyncClient) -> None:
    payload = json.loads(fixture_bytes("improvmx/otp.json"))
    payload["attachments"][0]["content"] = "!!!not base64!!!"
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", json=payload)
    assert response.status_code == 400 and "attachments[0].content" in response.json()["message"]


@pytest.mark.parametrize("timestamp", [1e20, 253402300800, -1e13])
async def test_improvmx_timestamp_out_of_range_is_stored_with_arrival_time(
    client: httpx.AsyncClient, settings: Settings, timestamp: float
) -> None:
    payload = json.loads(fixture_bytes("improvmx/otp.json"))
    payload["timestamp"] = timestamp
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", json=payload)
    assert response.status_code == 200, response.text
    [message] = _messages(settings)
    assert abs((message.received_at - datetime.now(UTC)).total_seconds()) < 60


async def test_date_past_year_9999_in_utc_does_not_fail_the_delivery(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = json.loads(fixture_bytes("improvmx/otp.json"))
    payload["date"] = "Fri, 31 Dec 9999 23:59:59 -0100"
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", json=payload)
    assert response.status_code == 200, response.text
    [message] = _messages(settings)
    assert message.date is None


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", [f"/hooks/improvmx/{IMPROVMX_SECRET}", "/hooks/improvmx", "/hooks/nosuch/x"])
async def test_probes_answer_200_without_side_effects(
    client: httpx.AsyncClient, settings: Settings, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 200
    assert _messages(settings) == []


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_openapi_describes_the_hook_and_health_endpoints(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.")
    assert {"/hooks/{source}/{secret}", "/hooks/{source}", "/livez", "/readyz"} <= set(schema["paths"])
    assert "413" in schema["paths"]["/hooks/{source}/{secret}"]["post"]["responses"]


@pytest.mark.parametrize("stamp", ["99999999999999999999", "9" * 400])
async def test_proxiedmail_timestamp_out_of_range_is_stored_with_arrival_time(
    client: httpx.AsyncClient, settings: Settings, stamp: str
) -> None:
    payload = json.loads(fixture_bytes("proxiedmail/otp.json"))
    del payload["receivedAt"]
    payload["payload"]["timestamp"] = stamp
    response = await client.post(f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", json=payload)
    assert response.status_code == 200, response.text
    [message] = _messages(settings)
    assert abs((message.received_at - datetime.now(UTC)).total_seconds()) < 60
