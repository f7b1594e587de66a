"""What each provider would POST for a message: sources config, body builders, one case per provider.

``CASES`` holds a :class:`ProviderCase` for every registered provider, so the conformance suite can
run the same checks (auth, signatures, content types, hostile bodies, duplicates) against all of
them; a provider added to ``PROVIDERS`` without a case here fails that suite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
from sqlmodel import Session, select

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.messages import list_attachments
from service.store.models import Attachment, MessageRaw
from service.store.models import Message as StoredMessage
from tests.conftest import IMPROVMX_SECRET, PROXIEDMAIL_SECRET
from tests.support.fakes.sns import INBOUND_TOPIC, TOPIC, delivery_headers, fake_sns
from tests.support.signing import SENDGRID_PUBLIC_KEY, sign_forwardemail, sign_mailgun

FIXTURES = Path(__file__).parent.parent / "fixtures"
SECRETS = {
    "proxiedmail": PROXIEDMAIL_SECRET,
    "improvmx": IMPROVMX_SECRET,
    "forwardemail": "fe-secret-0123456789abcdef",
    "forwardemail-open": "fe-open-secret-0123456789abcdef",
    "raw": "raw-secret-0123456789abcdef",
    "postmark": "pm-inbound-secret-0123456789",
    "mailgun": "mg-secret-0123456789abcdef",
    "sendgrid": "sg-secret-0123456789abcdef",
    "ses-inbound": "ses-in-secret-0123456789abcdef",
    "ses": "ses-secret-0123456789abcdef",
    "postmark-bounces": "pm-bounce-secret-0123456789",
    "mailgun-events": "mg-events-secret-0123456789",
    "sendgrid-events": "sg-events-secret-0123456789",
    "forwardemail-bounces": "fe-bounce-secret-0123456789",
}
# Two keys per signing source: deliveries signed with either are accepted (rotation).
FORWARDEMAIL_KEYS = ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a1b2c3d4e5f60718293a4b5c6d7e8f90")
MAILGUN_KEYS = ("key-old-3b1f0c9d8e7a6b5c4d3e2f1a", "key-new-9a8b7c6d5e4f3a2b1c0d9e8f")

SOURCES_YAML = f"""
sources:
  - {{name: proxiedmail, provider: proxiedmail, secrets: ["{SECRETS["proxiedmail"]}"]}}
  - {{name: improvmx, provider: improvmx, secrets: ["{SECRETS["improvmx"]}"]}}
  - name: forwardemail
    provider: forwardemail
    secrets: ["{SECRETS["forwardemail"]}"]
    signing_keys: {json.dumps(list(FORWARDEMAIL_KEYS))}
  - {{name: forwardemail-open, provider: forwardemail, secrets: ["{SECRETS["forwardemail-open"]}"]}}
  - {{name: raw, provider: raw, secrets: ["{SECRETS["raw"]}"]}}
  - {{name: postmark, provider: postmark, secrets: ["{SECRETS["postmark"]}"]}}
  - name: mailgun
    provider: mailgun
    secrets: ["{SECRETS["mailgun"]}"]
    signing_keys: {json.dumps(list(MAILGUN_KEYS))}
  - {{name: sendgrid, provider: sendgrid, secrets: ["{SECRETS["sendgrid"]}"]}}
  - name: ses-inbound
    provider: ses-inbound
    secrets: ["{SECRETS["ses-inbound"]}"]
    topic_arns: ["{INBOUND_TOPIC}"]
  - {{name: ses, provider: ses, secrets: ["{SECRETS["ses"]}"], topic_arns: ["{TOPIC}"]}}
  - {{name: postmark-bounces, provider: postmark-bounces, secrets: ["{SECRETS["postmark-bounces"]}"]}}
  - name: mailgun-events
    provider: mailgun-events
    secrets: ["{SECRETS["mailgun-events"]}"]
    signing_keys: {json.dumps(list(MAILGUN_KEYS))}
  - name: sendgrid-events
    provider: sendgrid-events
    secrets: ["{SECRETS["sendgrid-events"]}"]
    signing_keys: ["{SENDGRID_PUBLIC_KEY}"]
  - name: forwardemail-bounces
    provider: forwardemail-bounces
    secrets: ["{SECRETS["forwardemail-bounces"]}"]
    signing_keys: {json.dumps(list(FORWARDEMAIL_KEYS))}
# SNS certificates and subscription confirmations come from the loopback fake SNS.
outbound: {{allow_hosts: ["127.0.0.1"]}}
"""


@dataclass(frozen=True)
class HttpDelivery:
    """One request as a provider would send it."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """A provider-neutral test message; each case renders it in its provider's format."""

    subject: str = "Your code is 246810"
    sender: str = "alice@example.org"
    to: tuple[str, ...] = ("hook@in.example.com",)
    envelope_to: tuple[str, ...] = ("hook@in.example.com",)
    message_id: str = "<m-246810@example.org>"
    date: str = "Tue, 14 Nov 2023 10:12:38 +0100"
    text: str = "Your code is 246810."
    extra_headers: tuple[tuple[str, str], ...] = ()
    attachment: bytes | None = None

    def header_pairs(self) -> list[tuple[str, str]]:
        return [
            ("From", f"Alice <{self.sender}>"),
            ("To", ", ".join(self.to)),
            ("Subject", self.subject),
            ("Date", self.date),
            ("Message-ID", self.message_id),
            *self.extra_headers,
        ]

    def mime(self) -> bytes:
        head = "".join(f"{name}: {value}\r\n" for name, value in self.header_pairs())
        return f"{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{self.text}\r\n".encode()


# --- body builders ---------------------------------------------------------------------------


def load_form_fixture(relative: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    data = json.loads((FIXTURES / relative).read_text())
    return data["fields"], data["files"]


def urlencoded(fields: dict[str, str]) -> bytes:
    return b"&".join(
        quote_from_bytes(k.encode()).encode() + b"=" + quote_from_bytes(v.encode(), safe="").encode()
        for k, v in fields.items()
    )


def multipart(
    fields: dict[str, str], files: list[dict[str, str]] | None = None, charsets: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """``multipart/form-data`` as SendGrid/Mailgun send it; fields encoded in their charset."""
    boundary = "xYzZY" + secrets.token_hex(8)
    chunks: list[bytes] = []
    for name, value in fields.items():
        encoded = value.encode((charsets or {}).get(name, "utf-8"))
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + encoded)
    for item in files or []:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{item["name"]}"; filename="{item["filename"]}"\r\n'
            f"Content-Type: {item['content_type']}\r\n\r\n"
        )
        chunks.append(head.encode() + base64.b64decode(item["content_base64"]))
    body = b"\r\n".join(chunks) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def signed_forwardemail(payload: dict[str, Any] | bytes, key: str = FORWARDEMAIL_KEYS[1]) -> HttpDelivery:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"content-type": "application/json", "user-agent": "forwardemail-net/11.0.0"}
    return HttpDelivery(body, {**headers, "x-webhook-signature": sign_forwardemail(body, key)})


def mailgun_fields(fields: dict[str, str], key: str = MAILGUN_KEYS[1], timestamp: int | None = None) -> dict[str, str]:
    """Add ``timestamp``/``token``/``signature`` as Mailgun does, fresh for every delivery."""
    stamp, token = str(int(timestamp if timestamp is not None else time.time())), secrets.token_hex(25)
    return {"timestamp": stamp, "token": token, "signature": sign_mailgun(stamp, token, key), **fields}


def mailgun_delivery(fields: dict[str, str], files: list[dict[str, str]] | None = None, **sign: Any) -> HttpDelivery:
    signed = mailgun_fields(fields, **sign)
    if files:  # Mailgun switches to multipart only when there are attachments
        body, content_type = multipart(signed, files)
        return HttpDelivery(body, {"content-type": content_type})
    return HttpDelivery(urlencoded(signed), {"content-type": "application/x-www-form-urlencoded"})


# --- one renderer per provider -----------------------------------------------------------------


def _proxiedmail(m: Message) -> HttpDelivery:
    event_id = hashlib.sha256(m.message_id.encode()).hexdigest()[:8].upper() + "-2400-0000-00003CC8"
    payload = {
        "From": f"Alice <{m.sender}>",
        "To": ", ".join(m.to),
        "Subject": m.subject,
        "Message-Id": m.message_id,
        "Date": m.date,
        "body-plain": m.text,
        "sender": m.sender,
        "recipient": m.envelope_to[0],
        "message-headers": json.dumps(m.header_pairs()),
        "timestamp": "1699953158",
        "token": "",
        "signature": "",
    }
    data = {
        "id": event_id,
        "payload": payload,
        "attachments": [],
        "recipient": {"address": m.envelope_to[0]},
        "receivedAt": "Tue Nov 14 2023 09:12:41 GMT+0000",
        "user": {"id": "A79E7F62-0000-0000-00009BC6", "username": "owner@example.com", "token": "Bearer x.y.z"},
    }
    return HttpDelivery(json.dumps(data).encode(), {"content-type": "application/json"})


def _improvmx(m: Message) -> HttpDelivery:
    headers: dict[str, Any] = {"X-Forwarding-Service": "ImprovMX v3.0.0", "Delivered-To": m.envelope_to[0]}
    headers.update({name: [value] for name, value in m.extra_headers})
    data = {
        "headers": headers,
        "to": [{"name": None, "email": address} for address in m.to],
        "from": {"name": "Alice", "email": m.sender},
        "subject": m.subject,
        "message-id": m.message_id.strip("<>"),
        "date": m.date,
        "return-path": {"name": None, "email": m.sender},
        "timestamp": 1699953158,
        "text": m.text,
        "attachments": [],
        "inlines": [],
    }
    return HttpDelivery(json.dumps(data).encode(), {"content-type": "application/json"})


def forwardemail_payload(m: Message) -> dict[str, Any]:
    raw = m.mime().decode()
    lines = [{"key": name.lower(), "line": f"{name}: {value}"} for name, value in m.header_pairs()]
    data: dict[str, Any] = {
        "attachments": [],
        "headerLines": lines,
        "html": False,
        "text": m.text,
        "subject": m.subject,
        "date": "2023-11-14T09:12:38.000Z",
        "to": {"value": [{"address": a, "name": ""} for a in m.to], "text": ", ".join(m.to)},
        "from": {"value": [{"address": m.sender, "name": "Alice"}], "text": f"Alice <{m.sender}>"},
        "messageId": m.message_id,
        "raw": raw,
        "recipients": list(m.envelope_to),
        "session": {"recipient": m.envelope_to[0], "sender": m.sender, "arrivalDate": "2023-11-14T09:12:41.000Z"},
    }
    if m.attachment is not None:
        data["attachments"] = [
            {"content": {"type": "Buffer", "data": list(m.attachment)}, "contentType": "application/octet-stream"}
        ]
    return data


def _forwardemail(m: Message) -> HttpDelivery:
    return signed_forwardemail(forwardemail_payload(m))


def _raw(m: Message) -> HttpDelivery:
    # The envelope travels in the URL; keep it short enough for any HTTP server's URL limit.
    params = [("from", m.sender), *(("to", address) for address in m.envelope_to[:20])]
    return HttpDelivery(m.mime(), {"content-type": "message/rfc822"}, params)


def _postmark(m: Message) -> HttpDelivery:
    data = {
        "From": m.sender,
        "FromName": "Alice",
        "FromFull": {"Email": m.sender, "Name": "Alice", "MailboxHash": ""},
        "To": ", ".join(m.to),
        "ToFull": [{"Email": a, "Name": "", "MailboxHash": ""} for a in m.to],
        "OriginalRecipient": m.envelope_to[0],
        "Subject": m.subject,
        # Postmark's id for the inbound message: stable for one message across retries.
        "MessageID": str(uuid.uuid5(uuid.NAMESPACE_URL, m.message_id)),
        "Date": m.date,
        "TextBody": m.text,
        "HtmlBody": "",
        "Headers": [{"Name": n, "Value": v} for n, v in [("Message-ID", m.message_id), *m.extra_headers]],
        "Attachments": [],
    }
    return HttpDelivery(json.dumps(data).encode(), {"content-type": "application/json"})


def _mailgun_message_fields(m: Message) -> dict[str, str]:
    return {
        "recipient": ",".join(m.envelope_to),
        "sender": m.sender,
        "from": f"Alice <{m.sender}>",
        "subject": m.subject,
        "body-plain": m.text,
        "message-headers": json.dumps(m.header_pairs()),
    }


def _mailgun(m: Message, **sign: Any) -> HttpDelivery:
    files = []
    if m.attachment is not None:
        encoded = base64.b64encode(m.attachment).decode()
        kind = "application/octet-stream"
        files = [{"name": "attachment-1", "filename": "a.bin", "content_type": kind, "content_base64": encoded}]
    return mailgun_delivery(_mailgun_message_fields(m), files, **sign)


def _sendgrid(m: Message) -> HttpDelivery:
    headers = "".join(f"{name}: {value}\n" for name, value in m.header_pairs())
    fields = {
        "headers": headers,
        "from": f"Alice <{m.sender}>",
        "to": ", ".join(m.to),
        "subject": m.subject,
        "text": m.text,
        "envelope": json.dumps({"to": list(m.envelope_to), "from": m.sender}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}),
        "SPF": "pass",
    }
    body, content_type = multipart(fields)
    return HttpDelivery(body, {"content-type": content_type})


def ses_received(m: Message) -> dict[str, Any]:
    """SES's ``Received`` notification for ``m`` (the SNS action, raw content as UTF-8)."""
    ses_id = hashlib.sha256(m.message_id.encode()).hexdigest()[:40]
    return {
        "notificationType": "Received",
        "mail": {"source": m.sender, "messageId": ses_id, "destination": list(m.to)},
        "receipt": {
            "timestamp": "2025-03-07T09:00:00.500Z",
            "recipients": list(m.envelope_to),
            "spfVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": INBOUND_TOPIC, "encoding": "UTF8"},
        },
        "content": m.mime().decode(),
    }


def sns_delivery(envelope: dict[str, str]) -> HttpDelivery:
    return HttpDelivery(json.dumps(envelope).encode(), delivery_headers(envelope))


def resign_sns(delivery: HttpDelivery) -> HttpDelivery:
    """Re-sign a mutated SNS envelope (when it is still a JSON object of strings)."""
    try:
        envelope = json.loads(delivery.body)
    except (ValueError, RecursionError):
        return delivery
    if not isinstance(envelope, dict) or not all(isinstance(v, str) for v in envelope.values()):
        return delivery
    if envelope.get("Type") not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return delivery
    fields = {k: v for k, v in envelope.items() if k not in ("Signature", "SignatureVersion")}
    return sns_delivery(fake_sns().sign(fields, envelope.get("SignatureVersion", "2")))


def _ses_inbound(m: Message) -> HttpDelivery:
    return sns_delivery(fake_sns().notification(ses_received(m), topic=INBOUND_TOPIC))


def _tampered_sns(delivery: HttpDelivery) -> HttpDelivery:
    envelope = json.loads(delivery.body)
    envelope["Message"] = envelope["Message"].replace("246810", "135790").replace("ghost", "alice")
    return sns_delivery(envelope)


def _same(delivery: HttpDelivery) -> HttpDelivery:
    return delivery


def _resign_forwardemail(delivery: HttpDelivery) -> HttpDelivery:
    return signed_forwardemail(delivery.body)


def _tampered_forwardemail(m: Message) -> HttpDelivery:
    signed = _forwardemail(m)
    return replace(signed, body=signed.body.replace(b"246810", b"135790"))


def _json_wrong_shape() -> HttpDelivery:
    return HttpDelivery(b'{"unexpected": {"shape": [1, 2, 3]}}', {"content-type": "application/json"})


@dataclass(frozen=True)
class ProviderCase:
    """How to produce good and bad deliveries for one provider, and what it must answer."""

    source: str
    build: Callable[[Message], HttpDelivery]
    #: JSON providers parse whatever the Content-Type says (providers.md §1.2); the others 415.
    json_body: bool = True
    #: Re-sign a mutated body (so the parser, not the signature check, sees the mutation).
    resign: Callable[[HttpDelivery], HttpDelivery] = _same
    #: A delivery whose signature no longer matches; None for providers that do not sign.
    tampered: Callable[[Message], HttpDelivery] | None = None
    wrong_shape: Callable[[], HttpDelivery] = _json_wrong_shape
    #: Whether a cut-off body is detectable (JSON, multipart); raw MIME has no end marker.
    truncatable: bool = True

    @property
    def secret(self) -> str:
        return SECRETS[self.source]


CASES: dict[str, ProviderCase] = {
    "proxiedmail": ProviderCase("proxiedmail", _proxiedmail),
    "improvmx": ProviderCase("improvmx", _improvmx),
    "forwardemail": ProviderCase(
        "forwardemail", _forwardemail, resign=_resign_forwardemail, tampered=_tampered_forwardemail
    ),
    "raw": ProviderCase(
        "raw",
        _raw,
        json_body=False,
        wrong_shape=lambda: HttpDelivery(b"\r\n\r\n", {"content-type": "message/rfc822"}),  # empty: the one refusal
        truncatable=False,
    ),
    "postmark": ProviderCase("postmark", _postmark),
    "mailgun": ProviderCase(
        "mailgun",
        # Attachments make Mailgun post multipart, which (unlike url-encoding) shows truncation.
        lambda m: _mailgun(replace(m, attachment=m.attachment or b"\x00attachment\xff")),
        json_body=False,
        tampered=lambda m: _mailgun(m, key="key-that-mailgun-never-used-0000"),
        wrong_shape=lambda: mailgun_delivery({"unexpected": "field"}),
    ),
    "sendgrid": ProviderCase(
        "sendgrid",
        _sendgrid,
        json_body=False,
        wrong_shape=lambda: HttpDelivery(*_multipart_with_type({"unexpected": "field"})),
    ),
    "ses-inbound": ProviderCase(
        "ses-inbound", _ses_inbound, resign=resign_sns, tampered=lambda m: _tampered_sns(_ses_inbound(m))
    ),
}


def _multipart_with_type(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body, content_type = multipart(fields)
    return body, {"content-type": content_type}


def stale_mailgun(m: Message, age_s: int = 20 * 60) -> HttpDelivery:
    """Correctly signed, but signed ``age_s`` seconds ago (outside Mailgun's 15-minute window)."""
    return _mailgun(m, timestamp=int(time.time()) - age_s)


# --- posting and reading back ------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient, source: str, delivery: HttpDelivery, *, query: list[tuple[str, str]] | None = None
) -> httpx.Response:
    """POST over real HTTP to ``/hooks/{source}/{secret}``, as the provider would."""
    params = (*delivery.params, *(query or []))
    return await client.post(
        f"/hooks/{source}/{SECRETS[source]}", content=delivery.body, headers=delivery.headers, params=params
    )


def stored_messages(settings: Settings) -> list[StoredMessage]:
    with Session(make_engine(settings)) as session:
        return list(session.exec(select(StoredMessage).order_by(StoredMessage.id)))


def stored_attachments(settings: Settings, message_id: str) -> list[Attachment]:
    with Session(make_engine(settings)) as session:
        return list_attachments(session, message_id)


def stored_raw(settings: Settings, message_id: str) -> MessageRaw:
    with Session(make_engine(settings)) as session:
        raw = session.get(MessageRaw, message_id)
    assert raw is not None
    return raw


def blob(settings: Settings, sha256: str | None) -> bytes:
    assert sha256 is not None
    return BlobStore(settings.blob_dir).read(sha256)
