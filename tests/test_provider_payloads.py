"""Provider payloads as they really arrive (issue 9): test-button samples, path-like attachment
names, repeated Content-ID keys, Postmark ``RawEmail`` and the fields only some providers give
(spam verdict, stripped text, Bcc). Over real HTTP, read back from the database."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from service.mail.inbound import InboundAttachment
from service.mail.storable import safe_filename
from service.mime.body import parse_mime
from service.settings import Settings
from tests.conftest import fixture_bytes
from tests.support.deliveries import (
    CASES,
    SOURCES_YAML,
    HttpDelivery,
    Message,
    blob,
    forwardemail_payload,
    load_form_fixture,
    mailgun_delivery,
    multipart,
    post,
    signed_forwardemail,
    stored_attachments,
    stored_messages,
)

JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _json(payload: dict[str, Any]) -> HttpDelivery:
    return HttpDelivery(json.dumps(payload).encode(), JSON)


def _postmark() -> dict[str, Any]:
    return json.loads(fixture_bytes("postmark/inbound.json"))


# --- test buttons ---------------------------------------------------------------------------


async def test_postmark_check_button_sample_with_data_attachments_is_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # The dashboard's "Check" posts attachments with ``Data`` where real deliveries have ``Content``.
    payload = _postmark()
    for item in payload["Attachments"]:
        item["Data"] = item.pop("Content")
    response = await post(client, "postmark", _json(payload))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    attachments = {a.filename: a for a in stored_attachments(settings, message.id)}
    assert blob(settings, attachments["invoice-2023-11.txt"].sha256) == b"Invoice 2023-11: 12.00 EUR\n"


async def test_postmark_attachment_without_content_or_data_is_400_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    payload = _postmark()
    del payload["Attachments"][0]["Content"]
    response = await post(client, "postmark", _json(payload))
    assert response.status_code == 400
    assert "Attachments[0].Content" in response.json()["message"]


async def test_improvmx_documented_sample_shapes_are_stored(client: httpx.AsyncClient, settings: Settings) -> None:
    # providers.md §2.3: older samples give every header as a string, current ones lists; the
    # sample's attachments say ``"encoding": "binary"`` although ``content`` is base64.
    payload = json.loads(fixture_bytes("improvmx/otp.json"))
    payload["headers"] = {
        name: value[0] if isinstance(value, list) else value for name, value in payload["headers"].items()
    }
    payload["attachments"] = [{"type": "text/plain", "name": "a.txt", "content": "SGVsbG8=", "encoding": "binary"}]
    assert (await post(client, "improvmx", _json(payload))).status_code == 200
    [message] = stored_messages(settings)
    [attachment] = [a for a in stored_attachments(settings, message.id) if a.filename == "a.txt"]
    assert blob(settings, attachment.sha256) == b"Hello"


async def test_forwardemail_faq_sample_shapes_are_stored(client: httpx.AsyncClient, settings: Settings) -> None:
    # providers.md §3.3: ``headers`` is a header-block string in the FAQ sample, ``html`` is false
    # without an HTML part, ``textAsHtml`` may be present, ``references`` a string or a list.
    payload = forwardemail_payload(Message())
    payload.update(headers="From: a@example.org\r\nTo: b@example.net", html=False, textAsHtml="<p>x</p>")
    payload["references"] = ["<a@x>", "<b@x>"]
    assert (await post(client, "forwardemail", signed_forwardemail(payload))).status_code == 200
    assert stored_messages(settings)[0].subject == "Your code is 246810"


# --- attachment names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("\\share\\mail\\forwarded.msg", "forwarded.msg"),
        ("C:\\Users\\a\\report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("path/..", None),
        (".", None),
        ("..", None),
        ("", None),
        ("  ", None),
        ("...", None),
        ("C:drive-relative.txt", "drive-relative.txt"),
        ("in\x00voice\r\n.txt", "invoice.txt"),
        ("caf\u00e9 menu.pdf", "caf\u00e9 menu.pdf"),
        (None, None),
    ],
)
def test_safe_filename_keeps_only_a_usable_last_component(given: str | None, stored: str | None) -> None:
    assert safe_filename(given) == stored
    assert InboundAttachment(given, "text/plain", b"").filename == stored


def test_long_filename_keeps_its_extension_within_255_characters() -> None:
    name = safe_filename("x" * 400 + ".pdf")
    assert name is not None and len(name) == 255 and name.endswith(".pdf")


async def test_path_like_names_from_every_kind_of_delivery_are_stored_as_last_components(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    postmark = _postmark()
    postmark["Attachments"][1]["Name"] = "\\share\\mail\\forwarded.msg"
    postmark["Attachments"][0]["Name"] = "path/.."
    assert (await post(client, "postmark", _json(postmark))).status_code == 200
    fields, files = load_form_fixture("mailgun/route.json")
    files[0]["filename"] = "../../chart.png"
    assert (await post(client, "mailgun", mailgun_delivery(fields, files))).status_code == 200
    names = {a.filename for m in stored_messages(settings) for a in stored_attachments(settings, m.id)}
    assert names == {"forwarded.msg", None, "chart.png", "notes.txt"}


def test_the_mime_path_stores_last_components_too() -> None:
    def part(filename: str, data: str) -> str:
        disposition = f'Content-Disposition: attachment; filename="{filename}"'
        return f"--b\r\nContent-Type: application/octet-stream\r\n{disposition}\r\n\r\n{data}\r\n"

    head = "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    raw = head + part("..\\\\..\\\\x.bin", "X") + part("..", "Y") + "--b--\r\n"
    assert [a["filename"] for a in parse_mime(raw.encode())["attachments"]] == ["x.bin", None]


# --- Content-ID maps --------------------------------------------------------------------------


async def test_mailgun_repeated_content_id_key_keeps_every_inline_part(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    fields, files = load_form_fixture("mailgun/route.json")
    png = files[0]
    files = [png, {**png, "name": "attachment-2", "filename": "chart-copy.png"}]
    # The same Content-ID names both parts: a JSON object with a repeated key.
    fields["content-id-map"] = '{"<ii_lp0qxg6v0>": "attachment-1", "<ii_lp0qxg6v0>": "attachment-2"}'
    assert (await post(client, "mailgun", mailgun_delivery(fields, files))).status_code == 200
    [message] = stored_messages(settings)
    found = [(a.filename, a.disposition, a.content_id) for a in stored_attachments(settings, message.id)]
    assert found == [("chart.png", "inline", "ii_lp0qxg6v0"), ("chart-copy.png", "inline", "ii_lp0qxg6v0")]


async def test_sendgrid_repeated_content_ids_key_keeps_every_inline_part(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    fields = {
        "headers": "From: A <a@example.org>\nMessage-ID: <s@example.org>\n",
        "envelope": '{"to": ["b@example.net"], "from": "a@example.org"}',
        "content-ids": '{"logo": "attachment1", "logo": "attachment2"}',
    }
    png = base64.b64encode(b"\x89PNG").decode()
    files = [
        {"name": f"attachment{i}", "filename": f"l{i}.png", "content_type": "image/png", "content_base64": png}
        for i in (1, 2)
    ]
    body, content_type = multipart(fields, files)
    assert (await post(client, "sendgrid", HttpDelivery(body, {"content-type": content_type}))).status_code == 200
    [message] = stored_messages(settings)
    found = [(a.disposition, a.content_id) for a in stored_attachments(settings, message.id)]
    assert found == [("inline", "logo"), ("inline", "logo")]


# --- Postmark RawEmail ------------------------------------------------------------------------


def _raw_email() -> str:
    return (
        "Return-Path: <bounce@raw.example>\r\nFrom: Raw Sender <raw@raw.example>\r\nTo: Raw To <to@raw.example>\r\n"
        "Cc: raw-cc@raw.example\r\nSubject: From the raw message\r\nDate: Thu, 16 Nov 2023 09:00:00 +0000\r\n"
        "Message-ID: <raw-1@raw.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nraw body\r\n"
        '--zz\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="raw.txt"\r\n\r\nR\r\n--zz--\r\n'
    )


async def test_postmark_fields_the_json_lacks_come_from_raw_email(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _postmark()
    for key in ("From", "FromName", "FromFull", "To", "ToFull", "Cc", "CcFull", "Subject", "Date"):
        payload.pop(key)
    payload["Headers"] = [h for h in payload["Headers"] if h["Name"] not in ("Message-ID", "Return-Path")]
    payload["RawEmail"] = _raw_email()
    assert payload["Headers"]  # the JSON list is never empty: the old fallback never ran
    assert (await post(client, "postmark", _json(payload))).status_code == 200
    [message] = stored_messages(settings)
    assert (message.from_name, message.from_address) == ("Raw Sender", "raw@raw.example")
    assert message.to == [{"name": "Raw To", "address": "to@raw.example"}]
    assert message.cc == [{"name": None, "address": "raw-cc@raw.example"}]
    assert message.subject == "From the raw message"
    assert message.message_id == "<raw-1@raw.example>"
    assert message.date is not None and message.date.day == 16
    assert message.envelope_from == "bounce@raw.example"
    # Fields the JSON has win over the raw message's.
    assert message.envelope_to == ["7a3f0c1e9b2d4e5f8a6b+otp@inbound.postmarkapp.com"]


async def test_postmark_with_raw_email_takes_attachments_from_the_raw_message_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _postmark()
    payload["RawEmail"] = _raw_email()
    assert (await post(client, "postmark", _json(payload))).status_code == 200
    [message] = stored_messages(settings)
    # None at ingest: the worker reads them from the raw message, as for raw and SMTP sources.
    assert stored_attachments(settings, message.id) == []
    assert [a["filename"] for a in parse_mime(blob(settings, message.raw_mime_sha256))["attachments"]] == ["raw.txt"]
    assert message.subject == "Sign-in code 118204"  # the JSON's own fields still win


async def test_postmark_raw_email_that_is_not_a_message_is_ignored_with_a_defect(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _postmark()
    payload["RawEmail"] = "\r\n\r\nnot a message"
    assert (await post(client, "postmark", _json(payload))).status_code == 200
    [message] = stored_messages(settings)
    assert message.raw_mime_sha256 is None
    assert len(stored_attachments(settings, message.id)) == 2
    assert "RawEmail: not a MIME message; used the JSON fields" in message.defects


# --- spam verdicts, stripped text, Bcc ---------------------------------------------------------


async def test_postmark_spam_verdict_stripped_reply_and_bcc_are_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = _postmark()
    payload["StrippedTextReply"] = "Thanks, got it."
    payload["BccFull"] = [{"Email": "audit@northwind.example", "Name": "Audit", "MailboxHash": ""}]
    assert (await post(client, "postmark", _json(payload))).status_code == 200
    [message] = stored_messages(settings)
    assert message.spam is not None and message.spam["status"] == "No" and message.spam["score"] == "-0.1"
    assert "tests" in message.spam
    assert message.stripped_text == "Thanks, got it."
    assert message.bcc == [{"name": "Audit", "address": "audit@northwind.example"}]


async def test_mailgun_spam_flag_score_and_stripped_text_are_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    fields, files = load_form_fixture("mailgun/route.json")
    pairs = json.loads(fields["message-headers"]) + [["X-Mailgun-Sflag", "Yes"], ["X-Mailgun-Sscore", "7.9"]]
    fields["message-headers"] = json.dumps(pairs)
    assert (await post(client, "mailgun", mailgun_delivery(fields, files))).status_code == 200
    [message] = stored_messages(settings)
    assert message.spam == {"flag": "Yes", "score": "7.9"}
    assert message.stripped_text == fields["stripped-text"]
    assert message.bcc is None  # Mailgun does not know Bcc


async def test_sendgrid_spam_score_and_report_are_stored(client: httpx.AsyncClient, settings: Settings) -> None:
    fields, files = load_form_fixture("sendgrid/parsed.json")
    fields.update(spam_score="3.2", spam_report="Spam detection software ... 3.2 points")
    body, content_type = multipart(fields, files)
    assert (await post(client, "sendgrid", HttpDelivery(body, {"content-type": content_type}))).status_code == 200
    [message] = stored_messages(settings)
    assert message.spam == {"score": "3.2", "report": "Spam detection software ... 3.2 points"}


async def test_forwardemail_bcc_is_stored(client: httpx.AsyncClient, settings: Settings) -> None:
    payload = forwardemail_payload(Message())
    payload["bcc"] = {"value": [{"address": "hidden@example.net", "name": ""}], "text": "hidden@example.net"}
    assert (await post(client, "forwardemail", signed_forwardemail(payload))).status_code == 200
    assert stored_messages(settings)[0].bcc == [{"name": None, "address": "hidden@example.net"}]


async def test_providers_without_these_fields_store_null(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await post(client, "improvmx", CASES["improvmx"].build(Message()))).status_code == 200
    [message] = stored_messages(settings)
    assert (message.spam, message.stripped_text, message.bcc) == (None, None, None)
