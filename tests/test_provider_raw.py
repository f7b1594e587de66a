"""The ``raw`` provider: a message posted as the body (curl, Postfix pipe), kept byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from service.config import SourceConfig
from service.providers.base import Delivery
from service.providers.raw import RawMime
from service.settings import Settings
from tests.conftest import fixture_bytes
from tests.support.deliveries import SOURCES_YAML, HttpDelivery, blob, post, stored_messages, stored_raw

RFC822 = {"content-type": "message/rfc822"}


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


async def test_eml_is_stored_byte_for_byte_with_headers_parsed(client: httpx.AsyncClient, settings: Settings) -> None:
    eml = fixture_bytes("raw/otp.eml")
    envelope = [("from", "bounces@mail.example.com"), ("to", "login@in.example.net"), ("to", "a@x.test,b@x.test")]
    response = await post(client, "raw", HttpDelivery(eml, RFC822, envelope))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert blob(settings, message.raw_mime_sha256) == eml
    assert message.envelope_from == "bounces@mail.example.com"
    assert message.envelope_to == ["login@in.example.net", "a@x.test", "b@x.test"]
    # RFC 2047 encoded-words are decoded for display fields.
    assert (message.from_name, message.from_address) == ("Café Login", "security@example.com")
    assert message.subject == "Your one-time code – 593812"
    assert message.to == [{"name": "Login Bot", "address": "login@in.example.net"}]
    assert message.cc == [{"name": None, "address": "audit@example.com"}]
    assert message.reply_to == [{"name": None, "address": "support@example.com"}]
    assert message.message_id == "<20231114091238.9f2c.otp@mail.example.com>"
    assert message.date == datetime(2023, 11, 14, 9, 12, 38, tzinfo=UTC)
    names = [h[0] for h in message.headers]
    assert names[:3] == ["Return-Path", "Delivered-To", "X-Original-To"] and "Content-Type" in names
    received = dict(message.headers)["Received"]
    assert "\n" not in received and received.endswith("(UTC)")  # unfolded
    raw = stored_raw(settings, message.id)
    assert raw.content_type == "application/json"
    assert json.loads(raw.content())["envelope_to"] == message.envelope_to


async def test_envelope_can_come_from_request_headers(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {**RFC822, "x-envelope-from": "<s@example.com>", "x-envelope-to": "r1@example.net, r2@example.net"}
    response = await post(client, "raw", HttpDelivery(fixture_bytes("raw/otp.eml"), headers))
    assert response.status_code == 200
    [message] = stored_messages(settings)
    assert (message.envelope_from, message.envelope_to) == ("s@example.com", ["r1@example.net", "r2@example.net"])


async def test_envelope_falls_back_to_headers_the_mta_added(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await post(client, "raw", HttpDelivery(fixture_bytes("raw/otp.eml"), RFC822))
    assert response.status_code == 200
    [message] = stored_messages(settings)
    assert message.envelope_to == ["login@in.example.net"]  # X-Original-To
    assert message.envelope_from == "bounces+sg.4821@mail.example.com"  # Return-Path


@pytest.mark.parametrize("content_type", ["message/rfc822", "application/octet-stream", "text/plain; charset=utf-8"])
async def test_message_content_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    delivery = HttpDelivery(fixture_bytes("raw/otp.eml"), {"content-type": content_type})
    assert (await post(client, "raw", delivery)).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_other_content_types_are_415_with_json_error(
    client: httpx.AsyncClient, settings: Settings, content_type: str
) -> None:
    response = await post(client, "raw", HttpDelivery(fixture_bytes("raw/otp.eml"), {"content-type": content_type}))
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type" and "message/rfc822" in response.json()["message"]
    assert stored_messages(settings) == []


@pytest.mark.parametrize("body", [b"", b"\n", b" \r\n\r\n"])
async def test_empty_body_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await post(client, "raw", HttpDelivery(body, RFC822))
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_payload",
        "message": "the body is empty: a raw delivery is a whole RFC 5322 message",
    }


@pytest.mark.parametrize(
    "body", [b"\r\n\r\nonly a body", b"just some text without any header\r\n", b"\xd0\xcf\x11\xe0"]
)
async def test_body_without_a_header_block_is_stored_with_a_defect(
    client: httpx.AsyncClient, settings: Settings, body: bytes
) -> None:
    """Mail is never refused for being malformed: the bytes are kept and the defect recorded."""
    response = await post(client, "raw", HttpDelivery(body, RFC822))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert "no_headers" in message.defects
    assert blob(settings, message.raw_mime_sha256) == body


async def test_obsolete_white_space_before_the_colon_is_read(client: httpx.AsyncClient, settings: Settings) -> None:
    body = b"From  : John Doe <jdoe@example.org>\r\nTo    : qa@example.com\r\nSubject : Hi\r\n\r\nBody\r\n"
    assert (await post(client, "raw", HttpDelivery(body, RFC822))).status_code == 200
    [message] = stored_messages(settings)
    assert (message.from_address, message.subject) == ("jdoe@example.org", "Hi")
    assert "obsolete_header_syntax" in message.defects


async def test_without_message_id_the_exact_bytes_identify_a_redelivery(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    first = b"From: a@example.com\r\nSubject: no id\r\n\r\nbody one\r\n"
    second = first.replace(b"one", b"two")
    ids = [
        (await post(client, "raw", HttpDelivery(body, RFC822))).json()["messages"][0] for body in (first, second, first)
    ]
    assert ids[0]["id"] != ids[1]["id"]
    assert ids[2] == {"id": ids[0]["id"], "duplicate": True}
    assert len(stored_messages(settings)) == 2


async def test_hostile_bytes_are_stored_not_500(client: httpx.AsyncClient, settings: Settings) -> None:
    body = (
        b"From: \xff\xfe <x@example.com>\r\nSubject: caf\xe9 \x00 nul\r\n"
        + b"X-Huge: "
        + b"h" * 1_000_000
        + b"\r\nTo: ((((((((((((((((((((((((((((((((((((((((((((((((((((\r\n\r\n\xff\xfe\x00 body\r\n"
    )
    response = await post(client, "raw", HttpDelivery(body, RFC822))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.subject == "caf\ufffd \ufffd nul"
    assert len(dict(message.headers)["X-Huge"]) == 1_000_000
    assert blob(settings, message.raw_mime_sha256) == body


async def test_mbox_from_line_from_a_pipe_transport_is_tolerated(client: httpx.AsyncClient, settings: Settings) -> None:
    body = b"From bounce@example.com  Tue Nov 14 09:12:41 2023\nSubject: via pipe\nMessage-ID: <p@x>\n\nhi\n"
    assert (await post(client, "raw", HttpDelivery(body, RFC822))).status_code == 200
    assert stored_messages(settings)[0].subject == "via pipe"


def test_raw_mime_is_the_request_body_object_itself() -> None:
    # 25 MB+ bodies must not be held twice: raw_mime is the very bytes object read from the socket.
    body = b"Subject: big\r\nMessage-ID: <big@x>\r\n\r\n" + b"x" * (26 * 1024 * 1024)
    source = SourceConfig(name="raw", provider="raw", secrets=["s" * 16])
    [email] = RawMime().parse(Delivery(source=source, body=body, headers={"content-type": "message/rfc822"}, query={}))
    assert email.raw_mime is body
    assert len(email.raw_payload) < 200
