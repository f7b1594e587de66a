"""SendGrid Inbound Parse over real HTTP: parsed mode (charsets, attachment-info) and raw mode."""

from __future__ import annotations

import json

import httpx
import pytest

from service.settings import Settings
from tests.support.deliveries import (
    SOURCES_YAML,
    HttpDelivery,
    blob,
    load_form_fixture,
    multipart,
    post,
    stored_attachments,
    stored_messages,
    urlencoded,
)


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _delivery(relative: str, **changes: str) -> HttpDelivery:
    fields, files = load_form_fixture(relative)
    # SendGrid sends each field in the charset that the fixture's ``charsets`` names for it.
    charsets = json.loads(fields.get("charsets", "{}"))
    body, content_type = multipart({**fields, **changes}, files, charsets=charsets)
    return HttpDelivery(body, {"content-type": content_type})


async def test_parsed_mode_delivery_is_normalised(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await post(client, "sendgrid", _delivery("sendgrid/parsed.json"))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.envelope_to == ["parse@inbound.hooks.example.com"]
    assert message.envelope_from == "bounce-447120@vendor.example"
    # From comes from the raw header block, an ISO-8859-1 encoded-word.
    assert (message.from_name, message.from_address) == ("René at Vendor", "rene@vendor.example")
    assert message.cc == [{"name": "Audit", "address": "audit@vendor.example"}]
    assert message.subject == "Code de connexion 447120"
    assert message.message_id == "<64f1a2b3c4d5e6f7@vendor.example>"
    # ``text`` arrived as ISO-8859-1 bytes, as charsets said.
    assert message.text == "Votre code de connexion est 447120.\nCafé Vendor\n"
    assert [h[0] for h in message.headers][:2] == ["Received", "Received"]
    assert message.auth == {"spf": "pass", "dkim": "pass"}
    assert message.raw_mime_sha256 is None
    attachments = {a.filename: a for a in stored_attachments(settings, message.id)}
    assert (attachments["stamp.png"].disposition, attachments["stamp.png"].content_id) == ("inline", "ii_lp1abc0")
    assert blob(settings, attachments["résumé.txt"].sha256) == "Résumé attached.\n".encode()


async def test_a_charset_name_with_a_nul_falls_back_to_utf8(client: httpx.AsyncClient, settings: Settings) -> None:
    # bytes.decode raises ValueError ("embedded null character") for such a name: it was a 500.
    charsets = json.dumps({"text": "\u0000", "html": "utf\u00008", "subject": "utf-8"})
    response = await post(client, "sendgrid", _delivery("sendgrid/parsed.json", charsets=charsets))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    # ``text`` is ISO-8859-1 in the fixture: read as UTF-8, its é is replaced.
    assert message.text == "Votre code de connexion est 447120.\nCaf\ufffd Vendor\n"


async def test_raw_mode_keeps_the_email_field_as_raw_mime(client: httpx.AsyncClient, settings: Settings) -> None:
    fields, _ = load_form_fixture("sendgrid/raw.json")
    assert (await post(client, "sendgrid", _delivery("sendgrid/raw.json"))).status_code == 200
    [message] = stored_messages(settings)
    assert blob(settings, message.raw_mime_sha256) == fields["email"].encode()
    assert message.subject == "Your reset code 771045"
    assert message.message_id == "<raw-5521@vendor.example>"
    assert message.envelope_to == ["parse@inbound.hooks.example.com"]
    assert message.text is None  # the worker's parse step reads it from the raw MIME


async def test_redelivery_is_a_duplicate(client: httpx.AsyncClient, settings: Settings) -> None:
    first = await post(client, "sendgrid", _delivery("sendgrid/parsed.json"))
    second = await post(client, "sendgrid", _delivery("sendgrid/parsed.json"))  # new boundary, same message
    assert second.json()["messages"] == [{"id": first.json()["messages"][0]["id"], "duplicate": True}]
    assert len(stored_messages(settings)) == 1


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json", "message/rfc822"])
async def test_non_multipart_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    fields, _ = load_form_fixture("sendgrid/parsed.json")
    response = await post(client, "sendgrid", HttpDelivery(urlencoded(fields), {"content-type": content_type}))
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"envelope": "{"}, "field 'envelope' is not valid JSON"),
        ({"envelope": '{"to": []}'}, "envelope.to"),
        ({"envelope": '{"to": ["a@b"], "from": 5}'}, "envelope.from"),
        ({"envelope": "[]"}, "field 'envelope' must be a JSON object"),
        ({"charsets": '"utf-8"'}, "charsets"),
        ({"attachment-info": "[["}, "attachment-info"),
        ({"headers": "\r\nno headers"}, "no header block"),
    ],
)
async def test_wrong_shape_is_400(client: httpx.AsyncClient, changes: dict[str, str], message: str) -> None:
    response = await post(client, "sendgrid", _delivery("sendgrid/parsed.json", **changes))
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_form_without_headers_or_email_is_400(client: httpx.AsyncClient) -> None:
    body, content_type = multipart({"envelope": '{"to": ["a@b"]}', "text": "hi"})
    response = await post(client, "sendgrid", HttpDelivery(body, {"content-type": content_type}))
    assert response.status_code == 400 and "'email' (raw mode) or 'headers'" in response.json()["message"]


@pytest.mark.parametrize("charset", ["x-no-such-charset", "idna", "base64", "undefined", "punycode"])
async def test_unknown_or_non_text_charset_falls_back_to_utf8(
    client: httpx.AsyncClient, settings: Settings, charset: str
) -> None:
    # ``charsets`` is sender-controlled: codecs that are not text encodings must not break parsing.
    charsets = json.dumps({"text": charset})
    response = await post(client, "sendgrid", _delivery("sendgrid/parsed.json", charsets=charsets))
    assert response.status_code == 200, response.text
    assert stored_messages(settings)[0].text == "Votre code de connexion est 447120.\nCaf\ufffd Vendor\n"
