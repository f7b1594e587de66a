"""Enough MIME to classify a provider delivery that kept no raw message.

ImprovMX, ProxiedMail, Mailgun's parsed form, SendGrid's parsed mode and Forward Email or
Postmark without their raw field hand over fields, not the message: headers (all of them, or
a provider's subset), text, HTML and attachments. For the classifier this rebuilds a message
from the stored row: the stored headers minus the structural ones, From/To/Cc/Subject/
Message-ID/Return-Path from the row where the provider's headers lack them, the text (else the
HTML, whose visible text the classifier reads itself) as the notice, and every attachment that
is a report or a returned original (``message/delivery-status``, ``message/feedback-report``,
``message/rfc822``, ``text/rfc822-headers`` ...) as a part of a ``multipart/report``.

Limits, all of them the provider's: a provider that flattened the report into the text keeps
the DSN fields only as text (the classifier reads fields pasted into text too); one that dropped
the report and the original leaves the human notice alone, read like an old MTA's plain bounce
(recipients and wording, no ``Reporting-MTA``, often no original Message-ID, so no link to the
forward that bounced); and a header subset (ImprovMX passes a few) loses the mail-system
signals of the headers it omits (the row's From and Subject still count).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from service.store.models import Message
from workers.bounces.mime import ORIGINAL_TYPES, REPORT_TYPES

#: Headers describing the delivered body's structure: the rebuilt message has its own.
_STRUCTURAL = frozenset({"content-type", "content-transfer-encoding", "mime-version", "content-disposition"})
_FIELD_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,76}$")
_NOTICE_CHARS = 200_000  # the classifier looks at no more of the report text than this
_PARTS = REPORT_TYPES | ORIGINAL_TYPES


def is_report_part(content_type: str) -> bool:
    """An attachment the classifier reads: a report, or the original a report returns."""
    return content_type.split(";", 1)[0].strip().lower() in _PARTS


def rebuilt_mime(message: Message, parts: list[tuple[str, bytes]]) -> bytes:
    """A MIME message from ``message``'s stored fields and ``parts`` (content type, bytes),
    the report attachments in their stored order."""
    head = _headers(message)
    subtype = "plain" if message.text or not message.html else "html"
    notice = (message.text or message.html or "")[:_NOTICE_CHARS]
    text_part = f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode()
    body = notice.encode("utf-8", "replace")
    if not parts:
        return head + b"MIME-Version: 1.0\r\n" + text_part + body
    boundary = f"=_mailhook_{uuid.uuid4().hex}"
    report = next((ctype for ctype, _ in parts if ctype.split(";", 1)[0].strip().lower() in REPORT_TYPES), None)
    kind = report.split(";", 1)[0].strip().lower().partition("/")[2] if report else ""
    outer = f"multipart/report; report-type={kind}" if kind else "multipart/mixed"
    chunks = [head, f'MIME-Version: 1.0\r\nContent-Type: {outer}; boundary="{boundary}"\r\n\r\n'.encode()]
    delimiter = f"\r\n--{boundary}\r\n".encode()
    chunks += [delimiter, text_part, body]
    for ctype, data in parts:
        chunks += [delimiter, f"Content-Type: {_one_line(ctype)}\r\n\r\n".encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks)


def _headers(message: Message) -> bytes:
    """The stored headers (minus structure), then what the row knows and they lack.
    Single-part rebuilds end with the text part's own Content-Type, so no header block
    separator is written here."""
    lines: list[str] = []
    seen: set[str] = set()
    for name, value in message.headers:
        key = str(name).strip()
        if key.lower() in _STRUCTURAL or not _FIELD_NAME.match(key):
            continue
        seen.add(key.lower())
        lines.append(f"{key}: {_one_line(str(value))}")
    for field, known in _row_fields(message):
        if field.lower() not in seen and known is not None:
            lines.append(f"{field}: {_one_line(known)}")
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8", "replace")


def _row_fields(message: Message) -> Iterable[tuple[str, str | None]]:
    sender = message.from_address
    yield "From", (f"{message.from_name} <{sender}>" if message.from_name else sender) if sender else None
    yield "To", _addresses(message.to)
    yield "Cc", _addresses(message.cc)
    yield "Subject", message.subject
    yield "Message-ID", message.message_id
    # A bounce's envelope sender is null: the row keeps "" for it, a mail-system signal.
    yield "Return-Path", f"<{message.envelope_from}>" if message.envelope_from is not None else None


def _addresses(items: list[dict[str, Any]]) -> str | None:
    found = [item.get("address") for item in items if item.get("address")]
    return ", ".join(str(address) for address in found) or None


def _one_line(value: str) -> str:
    """Stored values must not start new header lines (or end the header block)."""
    return " ".join(value.split())
