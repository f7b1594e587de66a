"""Mailgun route forwards over real HTTP: forms, signature rotation, freshness window, token replay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from service.settings import Settings
from tests.support.deliveries import (
    MAILGUN_KEYS,
    SOURCES_YAML,
    HttpDelivery,
    Message,
    blob,
    load_form_fixture,
    mailgun_delivery,
    mailgun_fields,
    multipart,
    post,
    stale_mailgun,
    stored_attachments,
    stored_messages,
    urlencoded,
)


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _route(**sign: object) -> HttpDelivery:
    fields, files = load_form_fixture("mailgun/route.json")
    return mailgun_delivery(fields, files, **sign)


async def test_multipart_route_delivery_is_normalised(client: httpx.AsyncClient, settings: Settings) -> None:
    stamp = int(time.time())
    response = await post(client, "mailgun", _route(timestamp=stamp))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert (message.envelope_from, message.envelope_to) == ("dana@example.org", ["codes@mg.hooks.example.com"])
    assert (message.from_name, message.from_address) == ("Dana Whitfield", "dana@example.org")
    assert message.to == [{"name": None, "address": "codes@mg.hooks.example.com"}]
    assert message.cc == [{"name": "Ops", "address": "ops@example.org"}]
    assert message.subject == "Re: login code 620731"
    assert message.message_id == "<CAH2x9QkR7s0=3PzT@mail.gmail.com>"
    assert message.date == datetime(2023, 11, 15, 17, 19, 51, tzinfo=UTC)
    assert message.received_at == datetime.fromtimestamp(stamp, UTC)
    # message-headers keeps both Received lines; the per-header fields keep only one.
    assert [h[0] for h in message.headers][:2] == ["Received", "Received"]
    assert message.auth == {"spf": "pass", "dkim": "pass"}
    assert message.text == "The login code is 620731.\r\n[image: chart.png]\r\n"
    attachments = {a.filename: a for a in stored_attachments(settings, message.id)}
    assert (attachments["chart.png"].disposition, attachments["chart.png"].content_id) == ("inline", "ii_lp0qxg6v0")
    assert attachments["notes.txt"].disposition == "attachment"
    assert blob(settings, attachments["notes.txt"].sha256) == b"Rotate the key on Friday.\n"


async def test_urlencoded_route_delivery_is_accepted(client: httpx.AsyncClient, settings: Settings) -> None:
    fields, _ = load_form_fixture("mailgun/route.json")
    delivery = mailgun_delivery(fields)
    assert delivery.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (await post(client, "mailgun", delivery)).status_code == 200
    assert stored_messages(settings)[0].subject == "Re: login code 620731"


async def test_mime_route_keeps_body_mime_as_raw_mime(client: httpx.AsyncClient, settings: Settings) -> None:
    fields, _ = load_form_fixture("mailgun/route-mime.json")
    assert (await post(client, "mailgun", mailgun_delivery(fields))).status_code == 200
    [message] = stored_messages(settings)
    assert blob(settings, message.raw_mime_sha256) == fields["body-mime"].encode()
    assert message.message_id == "<CAH2x9QkMIME=1@mail.gmail.com>"
    assert message.auth == {"spf": "neutral", "dkim": "pass"}


@pytest.mark.parametrize("key", MAILGUN_KEYS)
async def test_signature_with_either_rotated_key_is_accepted(client: httpx.AsyncClient, key: str) -> None:
    assert (await post(client, "mailgun", _route(key=key))).status_code == 200


async def test_bad_signature_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await post(client, "mailgun", _route(key="key-someone-else-0000000000000000"))
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "message": "Mailgun signature does not match for any signing key",
    }
    assert stored_messages(settings) == []


@pytest.mark.parametrize("missing", ["timestamp", "token", "signature"])
async def test_missing_signature_field_is_401(client: httpx.AsyncClient, missing: str) -> None:
    fields, _ = load_form_fixture("mailgun/route.json")
    signed = mailgun_fields(fields)
    del signed[missing]
    delivery = HttpDelivery(urlencoded(signed), {"content-type": "application/x-www-form-urlencoded"})
    assert (await post(client, "mailgun", delivery)).status_code == 401


@pytest.mark.parametrize("offset_s", [-20 * 60, 20 * 60])
async def test_timestamp_outside_the_window_is_401_stale(client: httpx.AsyncClient, offset_s: int) -> None:
    response = await post(client, "mailgun", _route(timestamp=int(time.time()) + offset_s))
    assert response.status_code == 401
    assert "stale" in response.json()["message"]


async def test_timestamp_inside_the_window_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await post(client, "mailgun", _route(timestamp=int(time.time()) - 10 * 60))).status_code == 200


async def test_replayed_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    delivery = _route()
    assert (await post(client, "mailgun", delivery)).status_code == 200
    replay = await post(client, "mailgun", delivery)
    assert replay.status_code == 401 and "replay" in replay.json()["message"]
    assert len(stored_messages(settings)) == 1


async def test_stale_replay_of_a_captured_delivery_is_401(client: httpx.AsyncClient) -> None:
    response = await post(client, "mailgun", stale_mailgun(Message()))
    assert response.status_code == 401 and "stale" in response.json()["message"]


async def test_retry_with_a_fresh_token_is_a_duplicate(client: httpx.AsyncClient) -> None:
    first = await post(client, "mailgun", _route())
    second = await post(client, "mailgun", _route())  # Mailgun re-signs each attempt
    assert second.status_code == 200
    assert second.json()["messages"] == [{"id": first.json()["messages"][0]["id"], "duplicate": True}]


@pytest.mark.parametrize("content_type", ["application/json", "message/rfc822", "text/plain"])
async def test_non_form_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    fields, _ = load_form_fixture("mailgun/route.json")
    delivery = HttpDelivery(json.dumps(mailgun_fields(fields)).encode(), {"content-type": content_type})
    response = await post(client, "mailgun", delivery)
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"--x\r\nnot a part", "multipart/form-data; boundary=x", "malformed multipart"),
        (b"anything", "multipart/form-data", "boundary"),
        (
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n',
            "multipart/form-data; boundary=x",
            "truncated",
        ),
        (b"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--\r\n", "multipart/form-data; boundary=x", "name"),
    ],
)
async def test_malformed_multipart_is_400(
    client: httpx.AsyncClient, body: bytes, content_type: str, message: str
) -> None:
    response = await post(client, "mailgun", HttpDelivery(body, {"content-type": content_type}))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("message-headers", "[[", "field 'message-headers' is not valid JSON"),
        ("message-headers", '[["only-name"]]', "pairs"),
        ("content-id-map", "[1]", "content-id-map"),
        ("recipient", "", "missing field 'recipient'"),
    ],
)
async def test_wrong_shape_is_400(client: httpx.AsyncClient, field: str, value: str, message: str) -> None:
    fields, _ = load_form_fixture("mailgun/route.json")
    response = await post(client, "mailgun", mailgun_delivery({**fields, field: value}))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_truncated_multipart_is_400(client: httpx.AsyncClient) -> None:
    body, content_type = multipart({"a": "b"})
    delivery = HttpDelivery(body[: len(body) // 2], {"content-type": content_type})
    assert (await post(client, "mailgun", delivery)).status_code == 400


async def test_multipart_parameter_names_are_case_insensitive(client: httpx.AsyncClient) -> None:
    fields, files = load_form_fixture("mailgun/route.json")
    body, content_type = multipart(mailgun_fields(fields), files)
    delivery = HttpDelivery(body, {"content-type": content_type.replace("boundary=", "Boundary=")})
    assert (await post(client, "mailgun", delivery)).status_code == 200


async def test_token_of_a_delivery_that_could_not_be_stored_stays_usable(settings: Settings) -> None:
    """A 503 makes Mailgun retry, possibly with the same token: that retry must not be a "replay"."""
    import sqlite3

    from service.web.app import create_app
    from tests.support.servers import serve_in_thread

    delivery = _route()
    impatient = settings.model_copy(update={"database_busy_timeout_ms": 100})
    with serve_in_thread(create_app(impatient)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            locker = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                assert (await post(client, "mailgun", delivery)).status_code == 503
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            assert (await post(client, "mailgun", delivery)).status_code == 200
    assert len(stored_messages(settings)) == 1
