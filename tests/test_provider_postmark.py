"""Postmark inbound JSON over real HTTP: *Full address objects, Headers list, base64 attachments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import fixture_bytes
from tests.support.deliveries import (
    SECRETS,
    SOURCES_YAML,
    HttpDelivery,
    blob,
    post,
    stored_attachments,
    stored_messages,
)

JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _fixture() -> dict[str, Any]:
    return json.loads(fixture_bytes("postmark/inbound.json"))


def _delivery(payload: dict[str, Any]) -> HttpDelivery:
    return HttpDelivery(json.dumps(payload).encode(), JSON)


async def test_fixture_delivery_is_normalised(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await post(client, "postmark", HttpDelivery(fixture_bytes("postmark/inbound.json"), JSON))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.provider_event_id == "5f1b2c3d-7e8f-4a9b-8c0d-1e2f3a4b5c6d"
    # OriginalRecipient is the envelope recipient, including the +hash that To does not show.
    assert message.envelope_to == ["7a3f0c1e9b2d4e5f8a6b+otp@inbound.postmarkapp.com"]
    assert message.envelope_from == "bounce-118204@mail.northwind.example"  # Return-Path header
    assert (message.from_name, message.from_address) == ("Northwind Billing", "billing@northwind.example")
    assert message.to == [{"name": "Inbox", "address": "7a3f0c1e9b2d4e5f8a6b@inbound.postmarkapp.com"}]
    assert message.cc == [{"name": "Finance", "address": "finance@northwind.example"}]
    assert message.reply_to == [{"name": None, "address": "no-reply@northwind.example"}]
    assert message.subject == "Sign-in code 118204"
    assert message.message_id == "<CAF7q2d1=aB9xYz@mail.northwind.example>"
    assert message.date == datetime(2023, 11, 15, 13, 30, 5, tzinfo=UTC)
    assert message.text is not None and "118204" in message.text
    assert message.headers[0] == ["Return-Path", "<bounce-118204@mail.northwind.example>"]
    assert message.auth == {"spf": "pass"}
    attachments = {a.filename: a for a in stored_attachments(settings, message.id)}
    assert attachments["logo.png"].disposition == "inline"
    assert attachments["logo.png"].content_id == "logo.png@01DA17B2.3C4D5E60"
    assert attachments["invoice-2023-11.txt"].disposition == "attachment"
    assert blob(settings, attachments["invoice-2023-11.txt"].sha256) == b"Invoice 2023-11: 12.00 EUR\n"


async def test_basic_auth_credentials_in_the_hook_url_are_accepted(client: httpx.AsyncClient) -> None:
    # Postmark's documented way: https://user:SECRET@host/hooks/postmark
    response = await client.post(
        "/hooks/postmark", content=fixture_bytes("postmark/inbound.json"), auth=("postmark", SECRETS["postmark"])
    )
    assert response.status_code == 200


async def test_retry_of_the_same_message_id_is_a_duplicate(client: httpx.AsyncClient, settings: Settings) -> None:
    first = await post(client, "postmark", _delivery(_fixture()))
    retried = _fixture()
    retried["Subject"] = "changed on retry"  # the MessageID alone identifies Postmark's message
    second = await post(client, "postmark", _delivery(retried))
    assert second.json()["messages"] == [{"id": first.json()["messages"][0]["id"], "duplicate": True}]
    assert len(stored_messages(settings)) == 1


async def test_raw_email_is_kept_as_raw_mime(client: httpx.AsyncClient, settings: Settings) -> None:
    payload = _fixture()
    payload["RawEmail"] = fixture_bytes("raw/otp.eml").decode()
    assert (await post(client, "postmark", _delivery(payload))).status_code == 200
    [message] = stored_messages(settings)
    assert blob(settings, message.raw_mime_sha256) == fixture_bytes("raw/otp.eml")


async def test_json_sent_as_text_plain_is_still_parsed(client: httpx.AsyncClient) -> None:
    delivery = HttpDelivery(fixture_bytes("postmark/inbound.json"), {"content-type": "text/plain"})
    assert (await post(client, "postmark", delivery)).status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("MessageID"), "missing field 'MessageID'"),
        (lambda p: p.update(MessageID=""), "MessageID"),
        (lambda p: p.update(MessageID="x" * 300), "1 to 255 characters"),
        (lambda p: p.update(Headers=[{"Name": "X"}]), "Headers[0]"),
        (lambda p: p.update(Headers="Message-ID: <x>"), "field 'Headers' must be list"),
        (lambda p: p.update(ToFull=["a@b"]), "ToFull[0]"),
        (lambda p: p["Attachments"][0].update(Content="abc"), "Attachments[0].Content"),
        (lambda p: p["Attachments"].append("x"), "Attachments[2]"),
    ],
)
async def test_wrong_shape_is_400_with_reason(
    client: httpx.AsyncClient, settings: Settings, change: Any, message: str
) -> None:
    payload = _fixture()
    change(payload)
    response = await post(client, "postmark", _delivery(payload))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert stored_messages(settings) == []
