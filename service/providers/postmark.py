"""Postmark inbound webhooks (../shared/providers.md §6.1).

Postmark posts its parsed message as JSON with PascalCase fields. It does not sign: the hook URL
carries the secret (path or Basic credentials in the URL, which Postmark supports), and Postmark
publishes its sending IPs for ``allow_ips``. ``MessageID`` is Postmark's own id for the inbound
message and stays the same across its retries, so it is the idempotency key.

With "Include raw email content" on, ``RawEmail`` holds the whole message. Postmark lifts
From/To/Cc/Subject/Date out of ``Headers`` into fields, so any of them the JSON lacks is taken
from the raw message's header block. Attachments then come from the raw message only (the
worker reads them from it, as for raw and SMTP sources), never from both places at once.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

from service.errors import BadPayload
from service.mail.inbound import Address, InboundAttachment, InboundEmail, parse_date
from service.mime.headers import (
    HeaderFields,
    addresses,
    decode_words,
    first_header,
    header_fields,
    header_verdicts,
    mime_headers_and_defects,
)
from service.providers.base import Delivery, InboundProvider
from service.providers.forms import media_type
from service.providers.json_reader import objects, optional, require


class Postmark(InboundProvider):
    """Postmark inbound message webhooks."""

    name = "postmark"
    #: Postmark runs SpamAssassin on inbound mail and passes its headers on in ``Headers``.
    SPAM_HEADERS: ClassVar[dict[str, str]] = {
        "flag": "x-spam-flag",
        "status": "x-spam-status",
        "score": "x-spam-score",
        "tests": "x-spam-tests",
    }

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        data = self.json_body(delivery)
        event_id = self.event_id(data, "MessageID")
        raw_mime, raw_headers = self._raw_email(data)
        json_headers = _headers(data)
        fields = _fields(data, header_fields(json_headers), header_fields(raw_headers) if raw_headers else _no_fields())
        # The raw message's header list is the complete one; verdicts are read from both lists.
        headers, both = raw_headers or json_headers, json_headers + raw_headers
        to = fields["to"]
        # OriginalRecipient is the RCPT TO that reached the inbound address (plus-hash included).
        original = optional(data, "OriginalRecipient", str)
        return [
            self.email_with_event_id(
                delivery,
                event_id,
                envelope_from=_return_path(both),
                envelope_to=[original] if original else [a.address for a in to],
                text=optional(data, "TextBody", str),
                html=optional(data, "HtmlBody", str),
                stripped_text=optional(data, "StrippedTextReply", str) or None,
                bcc=_full(data, "BccFull") or addresses(optional(data, "Bcc", str)),
                headers=headers,
                attachments=[] if raw_mime is not None else _attachments(data),
                raw_mime=raw_mime,
                auth=_auth(both),
                spam=header_verdicts(both, self.SPAM_HEADERS),
                **fields,
            )
        ]

    def _raw_email(self, data: dict[str, Any]) -> tuple[bytes | None, list[tuple[str, str]]]:
        """``RawEmail`` as bytes and its headers; one without a header block is no message, so
        the JSON fields stand alone (the payload, kept whole, still holds it)."""
        raw = optional(data, "RawEmail", str)
        if not raw:
            return None, []
        raw_mime = self.utf8(raw, "RawEmail")
        headers, _ = mime_headers_and_defects(raw_mime)
        if not headers:
            self.defects.append("RawEmail: not a MIME message; used the JSON fields")
            return None, []
        return raw_mime, headers


def _no_fields() -> HeaderFields:
    """What an absent ``RawEmail`` contributes (fresh lists: an email may extend its own)."""
    return HeaderFields(header_from=None, to=[], cc=[], reply_to=[], subject=None, message_id=None, date=None)


def _fields(data: dict[str, Any], from_headers: HeaderFields, from_raw: HeaderFields) -> HeaderFields:
    """Each field from the JSON when it has it, else from ``Headers``, else from ``RawEmail``."""
    return HeaderFields(
        header_from=next(iter(_full(data, "FromFull") or _from(data)), None)
        or from_headers["header_from"]
        or from_raw["header_from"],
        to=_full(data, "ToFull") or addresses(optional(data, "To", str)) or from_headers["to"] or from_raw["to"],
        cc=_full(data, "CcFull") or addresses(optional(data, "Cc", str)) or from_headers["cc"] or from_raw["cc"],
        reply_to=addresses(optional(data, "ReplyTo", str)) or from_headers["reply_to"] or from_raw["reply_to"],
        subject=optional(data, "Subject", str) or from_headers["subject"] or from_raw["subject"],
        message_id=from_headers["message_id"] or from_raw["message_id"],
        # ``Date`` is the sender's header text, in whatever format the sender used.
        date=parse_date(optional(data, "Date", str)) or from_headers["date"] or from_raw["date"],
    )


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


def _return_path(headers: list[tuple[str, str]]) -> str | None:
    """Postmark has no envelope-sender field; the Return-Path header records MAIL FROM."""
    return (first_header(headers, "return-path") or "").strip().strip("<>").strip() or None


def _from(data: dict[str, Any]) -> list[Address]:
    """``From`` (the bare address) with ``FromName``, for payloads without ``FromFull``."""
    email, name = data.get("From"), data.get("FromName")
    if not isinstance(email, str) or not email.strip():
        return []
    return [Address(decode_words(name) if isinstance(name, str) and name else None, email.strip())]


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
    for where, item in objects(data, "Attachments"):
        # Real deliveries carry the base64 in ``Content``; the dashboard's "Check" button posts a
        # sample whose attachments carry it in ``Data`` (anymail reads both for the same reason).
        key = "Content" if item.get("Content") is not None or item.get("Data") is None else "Data"
        try:
            content = base64.b64decode(require(item, key, str, where), validate=False)
        except (binascii.Error, ValueError):
            raise BadPayload(f"field '{where}.{key}' is not base64", details={"field": f"{where}.{key}"}) from None
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
