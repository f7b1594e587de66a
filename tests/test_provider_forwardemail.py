"""Forward Email webhooks over real HTTP: signature with key rotation, raw vs parsed fields, Buffers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import fixture_bytes
from tests.support.deliveries import (
    FORWARDEMAIL_KEYS,
    SOURCES_YAML,
    HttpDelivery,
    blob,
    post,
    signed_forwardemail,
    stored_attachments,
    stored_messages,
)
from tests.support.signing import sign_forwardemail


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _fixture() -> dict[str, Any]:
    return json.loads(fixture_bytes("forwardemail/otp.json"))


async def test_fixture_delivery_is_normalised_from_raw(client: httpx.AsyncClient, settings: Settings) -> None:
    body = fixture_bytes("forwardemail/otp.json")
    response = await post(client, "forwardemail", signed_forwardemail(body))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.envelope_to == ["otp@hooks.example.org"]
    assert message.envelope_from == "orders@shop.example"
    assert (message.from_name, message.from_address) == ("Shop Example", "orders@shop.example")
    # The To header has a group ("Team: ana@…, ben@…;"): its members are recipients too.
    assert [a["address"] for a in message.to] == ["otp@hooks.example.org", "ana@team.example", "ben@team.example"]
    assert message.cc == [{"name": None, "address": "records@shop.example"}]
    assert message.reply_to == [{"name": None, "address": "help@shop.example"}]
    assert message.subject == "Your verification code: 904417"
    assert message.message_id == "<b7e1c0de-5f2a-4c1b-8d7e-0a1b2c3d4e5f@shop.example>"
    assert message.date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # "23:13:20 +0100"
    assert message.received_at == datetime(2023, 11, 14, 22, 13, 21, 412000, tzinfo=UTC)  # session.arrivalDate
    assert [h[0] for h in message.headers][:2] == ["ARC-Seal", "ARC-Message-Signature"]
    assert message.auth == {"spf": "pass", "dmarc": "pass", "arc": "none", "dkim": "pass"}
    assert message.text == "Your verification code is 904417. Do not share it."
    assert blob(settings, message.raw_mime_sha256) == _fixture()["raw"].encode()
    [attachment] = stored_attachments(settings, message.id)
    assert (attachment.filename, attachment.content_type, attachment.size) == ("receipt.csv", "text/csv", 18)
    assert blob(settings, attachment.sha256) == b"item,qty\nwidget,2\n"


async def test_success_status_is_exactly_200(client: httpx.AsyncClient) -> None:
    # Forward Email treats 201/202/204 as failures: only 200 means delivered.
    response = await post(client, "forwardemail", signed_forwardemail(fixture_bytes("forwardemail/otp.json")))
    assert response.status_code == 200


@pytest.mark.parametrize("key", FORWARDEMAIL_KEYS)
async def test_signature_with_either_rotated_key_is_accepted(client: httpx.AsyncClient, key: str) -> None:
    delivery = signed_forwardemail(fixture_bytes("forwardemail/otp.json"), key=key)
    assert (await post(client, "forwardemail", delivery)).status_code == 200


async def test_tampered_body_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    signed = signed_forwardemail(fixture_bytes("forwardemail/otp.json"))
    tampered = HttpDelivery(signed.body.replace(b"904417", b"000000"), signed.headers)
    response = await post(client, "forwardemail", tampered)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized" and "X-Webhook-Signature" in response.json()["message"]
    assert stored_messages(settings) == []


@pytest.mark.parametrize(
    "signature", [None, "", "not-hex", sign_forwardemail(b"other body", FORWARDEMAIL_KEYS[0]), "é".encode() * 32]
)
async def test_missing_or_wrong_signature_is_401_when_source_has_keys(
    client: httpx.AsyncClient, signature: str | bytes | None
) -> None:
    headers: dict[str, Any] = {"content-type": "application/json"}
    if signature is not None:
        headers["x-webhook-signature"] = signature
    delivery = HttpDelivery(fixture_bytes("forwardemail/otp.json"), headers)
    response = await post(client, "forwardemail", delivery)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


async def test_signature_from_an_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    delivery = signed_forwardemail(fixture_bytes("forwardemail/otp.json"), key="ffffffffffffffffffffffffffffffff")
    assert (await post(client, "forwardemail", delivery)).status_code == 401


async def test_unsigned_delivery_is_accepted_when_source_has_no_signing_keys(client: httpx.AsyncClient) -> None:
    # Forward Email only signs when the domain has a webhook key (paid plans).
    delivery = HttpDelivery(fixture_bytes("forwardemail/otp.json"), {"content-type": "application/json"})
    assert (await post(client, "forwardemail-open", delivery)).status_code == 200


async def test_raw_false_delivery_uses_the_parsed_fields(client: httpx.AsyncClient, settings: Settings) -> None:
    payload = _fixture()
    del payload["raw"]  # what ?raw=false on the hook URL produces
    response = await post(client, "forwardemail", signed_forwardemail(payload), query=[("raw", "false")])
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.raw_mime_sha256 is None
    assert (message.from_name, message.from_address) == ("Shop Example", "orders@shop.example")
    assert [a["address"] for a in message.to] == ["otp@hooks.example.org", "ana@team.example", "ben@team.example"]
    assert message.reply_to == [{"name": None, "address": "help@shop.example"}]
    assert message.subject == "Your verification code: 904417"
    assert message.date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    # headerLines keeps order and folding; values come back unfolded.
    assert [h[0] for h in message.headers][:2] == ["ARC-Seal", "ARC-Message-Signature"]
    assert "\r\n" not in message.headers[0][1]
    assert len(stored_attachments(settings, message.id)) == 1


async def test_attachments_false_delivery_is_stored_without_attachments(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _fixture()
    del payload["attachments"]  # ?attachments=false
    response = await post(client, "forwardemail", signed_forwardemail(payload), query=[("attachments", "false")])
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert stored_attachments(settings, message.id) == []
    assert message.raw_mime_sha256 is not None  # the attachment is still inside raw


async def test_raw_and_parsed_deliveries_of_one_message_share_one_record(client: httpx.AsyncClient) -> None:
    full = await post(client, "forwardemail", signed_forwardemail(fixture_bytes("forwardemail/otp.json")))
    lean = _fixture()
    del lean["raw"], lean["attachments"]
    again = await post(client, "forwardemail", signed_forwardemail(lean))
    assert again.json()["messages"] == [{"id": full.json()["messages"][0]["id"], "duplicate": True}]


async def test_html_false_means_no_html_part(client: httpx.AsyncClient, settings: Settings) -> None:
    payload = _fixture()
    payload["html"] = False
    assert (await post(client, "forwardemail", signed_forwardemail(payload))).status_code == 200
    assert stored_messages(settings)[0].html is None


@pytest.mark.parametrize(
    "content",
    [
        {"type": "Buffer", "data": [256]},
        {"type": "Buffer", "data": [-1]},
        {"type": "Buffer", "data": ["a"]},
        {"type": "Buffer", "data": [1.5]},
        {"type": "Buffer", "data": "aGVsbG8="},
        {"type": "Uint8Array", "data": [1, 2]},
        {"data": [1, 2]},
        "aGVsbG8=",
    ],
)
async def test_malformed_buffer_attachment_is_400(client: httpx.AsyncClient, settings: Settings, content: Any) -> None:
    payload = _fixture()
    payload["attachments"][0]["content"] = content
    response = await post(client, "forwardemail", signed_forwardemail(payload))
    assert response.status_code == 400, response.text
    assert "attachments[0].content" in response.json()["message"]
    assert stored_messages(settings) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("session"), "missing field 'session'"),
        (lambda p: p.update(recipients=[], session={"sender": "a@b"}), "no envelope recipient"),
        (lambda p: p.update(recipients=[1]), "field 'recipients' must be a list of strings"),
        (lambda p: p.update(html=7), "field 'html'"),
        (lambda p: p.update(raw=None, to="someone"), "field 'to'"),
        (lambda p: p.update(raw=None, headerLines=[{"key": "x"}]), "headerLines[0].line"),
    ],
)
async def test_wrong_shape_is_400_with_reason(client: httpx.AsyncClient, change: Any, message: str) -> None:
    payload = _fixture()
    change(payload)
    response = await post(client, "forwardemail", signed_forwardemail(payload))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_raw_that_is_not_a_message_falls_back_to_parsed_fields(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _fixture()
    payload["raw"] = "\r\nnot a message"
    assert (await post(client, "forwardemail", signed_forwardemail(payload))).status_code == 200
    [message] = stored_messages(settings)
    assert message.subject == "Your verification code: 904417"
    assert message.defects and "raw" in message.defects[0]
