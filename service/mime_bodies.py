"""Text, HTML and attachments out of raw MIME, for sources that deliver raw bytes (raw, SMTP).

Uses the stdlib parser (``policy.default``): about twice as fast as mail-parser on ordinary
mail, and it reports defects instead of raising on most malformations. Anything it does raise
on becomes a defect; the raw bytes are never at risk.
"""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

from service.inbound import InboundAttachment

MAX_TEXT_CHARS = 2_000_000


@dataclass
class MimeBodies:
    text: str | None = None
    html: str | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def parse_bodies(raw: bytes) -> MimeBodies:
    bodies = MimeBodies()
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        bodies.text = _part_text(message.get_body(("plain",)), bodies.defects)
        bodies.html = _part_text(message.get_body(("html",)), bodies.defects)
        bodies.attachments = _attachments(message, bodies.defects)
        bodies.defects += sorted({type(d).__name__ for part in message.walk() for d in part.defects})
    except Exception as exc:  # the stdlib raises on some hostile structures; record, never lose mail
        bodies.defects.append(f"mime_parse_error: {type(exc).__name__}")
    return bodies


def _part_text(part: object, defects: list[str]) -> str | None:
    if not isinstance(part, EmailMessage):
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, UnicodeError) as exc:
        defects.append(f"undecodable_body: {type(exc).__name__}")
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
    if not isinstance(content, str):
        return None
    return content[:MAX_TEXT_CHARS].replace("\x00", "\ufffd")


def _attachments(message: EmailMessage, defects: list[str]) -> list[InboundAttachment]:
    found: list[InboundAttachment] = []
    for part in message.iter_attachments():
        try:
            data = part.get_payload(decode=True)
            filename = part.get_filename()
        except Exception as exc:  # broken encodings or RFC 2231 parameters
            defects.append(f"attachment_error: {type(exc).__name__}")
            continue
        if not isinstance(data, bytes):  # message/rfc822 parts: keep their bytes as they are
            data = part.as_bytes() if part.is_multipart() or data is None else bytes(str(data), "utf-8")
        content_id = part.get("content-id")
        found.append(
            InboundAttachment(
                filename=str(filename) if filename else None,
                content_type=part.get_content_type(),
                data=data,
                content_id=str(content_id).strip("<>") if content_id else None,
                disposition=part.get_content_disposition() or "attachment",
            )
        )
    return found
