"""Postmark inbound webhooks (../shared/providers.md §6.1).

Postmark posts its parsed message as JSON with PascalCase fields. It does not sign: the hook URL
carries the secret (path or Basic credentials in the URL, which Postmark supports), and Postmark
publishes its sending IPs for ``allow_ips``. ``MessageID`` is Postmark's own id for the inbound
message and stays the same across its retries, so it is the idempotency key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from service.errors import BadPayload
from service.inbound import Address, InboundAttachment, InboundEmail, idempotency_key, parse_date
from service.providers.base import Delivery, InboundProvider, load_json_object, optional, require
from service.providers.forms import (
    addresses,
    decode_words,
    first_header,
    header_fields,
    media_type,
    mime_headers,
)


class Postmark(InboundProvider):
    """Postmark inbound message webhooks."""

    name = "postmark"

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        data = load_json_object(delivery.body)
        event_id = require(data, "MessageID", str)
        if not 0 < len(event_id) <= 255:
            raise BadPayload("field 'MessageID' must be 1 to 255 characters", details={"field": "MessageID"})
        raw = optional(data, "RawEmail", str)
        raw_mime = raw.encode("utf-8", "replace") if raw else None
        headers = _headers(data) or (_raw_headers(raw_mime) if raw_mime else [])
        fields = header_fields(headers)
        to = _full(data, "ToFull")
        # OriginalRecipient is the RCPT TO that reached the inbound address (plus-hash included).
        original = optional(data, "OriginalRecipient", str)
        return [
            InboundEmail(
                provider=self.name,
                source=delivery.source.name,
                provider_event_id=event_id,
                idempotency_key=idempotency_key(self.name, event_id),
                raw_payload=delivery.body,
                received_at=delivery.received_at,
                envelope_from=_return_path(headers),
                envelope_to=[original] if original else [a.address for a in to],
                header_from=next(iter(_full(data, "FromFull")), None) or fields["header_from"],
                to=to or fields["to"],
                cc=_full(data, "CcFull") or fields["cc"],
                reply_to=addresses(optional(data, "ReplyTo", str)) or fields["reply_to"],
                subject=optional(data, "Subject", str) or fields["subject"],
                message_id=fields["message_id"],
                # ``Date`` is the sender's header text, in whatever format the sender used.
                date=parse_date(optional(data, "Date", str)) or fields["date"],
                text=optional(data, "TextBody", str),
                html=optional(data, "HtmlBody", str),
                headers=headers,
                attachments=_attachments(data),
                raw_mime=raw_mime,
                auth=_auth(headers),
            )
        ]


def _headers(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``Headers`` is ``[{Name, Value}]``: the message headers Postmark did not lift into fields
    (Message-ID, Received, SpamAssassin's X-Spam-*, Received-SPF, ...)."""
    headers: list[tuple[str, str]] = []
    for index, item in enumerate(optional(data, "Headers", list) or []):
        name = item.get("Name") if isinstance(item, dict) else None
        value = item.get("Value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(value, str):
            where = f"Headers[{index}]"
            raise BadPayload(f"field '{where}' must be {{Name, Value}} strings", details={"field": where})
        headers.append((name, value))
    return headers


def _raw_headers(raw_mime: bytes) -> list[tuple[str, str]]:
    try:
        return mime_headers(raw_mime)
    except BadPayload:
        return []


def _return_path(headers: list[tuple[str, str]]) -> str | None:
    """Postmark has no envelope-sender field; the Return-Path header records MAIL FROM."""
    return (first_header(headers, "return-path") or "").strip().strip("<>").strip() or None


def _full(data: dict[str, Any], key: str) -> list[Address]:
    """``FromFull`` is one ``{Email, Name, MailboxHash}``; ``ToFull``/``CcFull`` are lists of them."""
    value = data.get(key)
    if value is None:
        return []
    found: list[Address] = []
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise BadPayload(f"field '{where}' must be an object with Email", details={"field": where})
        email, name = item.get("Email"), item.get("Name")
        if isinstance(email, str) and email:
            found.append(Address(decode_words(name) if isinstance(name, str) and name else None, email))
    return found


def _attachments(data: dict[str, Any]) -> list[InboundAttachment]:
    found: list[InboundAttachment] = []
    for index, item in enumerate(optional(data, "Attachments", list) or []):
        where = f"Attachments[{index}]"
        if not isinstance(item, dict):
            raise BadPayload(f"field '{where}' must be an object", details={"field": where})
        try:
            content = base64.b64decode(require(item, "Content", str, where), validate=False)
        except (binascii.Error, ValueError):
            raise BadPayload(f"field '{where}.Content' is not base64", details={"field": where}) from None
        # Inline images carry a ContentID (e.g. "image001.png@01D..."), referenced as cid: in HTML.
        cid = item.get("ContentID")
        found.append(
            InboundAttachment(
                filename=item.get("Name") if isinstance(item.get("Name"), str) else None,
                content_type=media_type(item.get("ContentType")),
                data=content,
                content_id=cid.removeprefix("cid:").strip("<>") if isinstance(cid, str) and cid else None,
                disposition="inline" if isinstance(cid, str) and cid else "attachment",
            )
        )
    return found


def _auth(headers: list[tuple[str, str]]) -> dict[str, str]:
    # Postmark adds a Received-SPF header ("Pass (sender SPF authorized) ...") to inbound mail.
    spf = first_header(headers, "received-spf")
    verdict = spf.split(None, 1)[0].lower()[:32] if spf and spf.strip() else None
    return {"spf": verdict} if verdict else {}
