"""The returned original message a bounce carries: attached, headers-only, or pasted inline.

Its Message-ID ties the bounce to the mail Mailhook forwarded; its From/To tell the report's
own addresses apart from the failed recipients.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import HeaderParser

from workers.bounces import mime

_HEADERS = HeaderParser(policy=policy.compat32)
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,40}:")


def original_headers(msg: Message) -> Message | None:
    """Headers of the returned original, or ``None`` when the bounce carries none."""
    for part in mime.walk(msg):
        ctype = mime.content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return _parse(payload)
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "text/rfc822-header"):
            return _parse(mime.payload_text(part))
    return None


def inline_original(notice: str) -> Message | None:
    """Headers of an original pasted after the notice text (qmail, Exim, Yahoo ...)."""
    tail = mime.after_original_marker(notice)
    if not tail:
        return None
    lines = tail.splitlines()
    start = next((i for i, line in enumerate(lines[:40]) if _HEADER_LINE.match(line)), None)
    if start is None:
        return None
    return _parse("\n".join(lines[start : start + 400]))


def _parse(text: str) -> Message | None:
    text = text.lstrip("\r\n")
    if not text:
        return None
    try:
        return _HEADERS.parsestr(text, headersonly=True)
    except (ValueError, TypeError, LookupError):
        return None


def message_id(headers: Message | None) -> str | None:
    if headers is None:
        return None
    value = mime.header(headers, "Message-ID")
    match = re.search(r"<[^<>\s]+>", value)
    return match.group(0) if match else (value or None)
