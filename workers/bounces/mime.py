"""Lenient reads of a bounce's MIME structure: decoded headers, report text, attached original.

Bounces are written by MTAs of every age, so nothing here trusts the structure: headers may be
undecodable, charsets unknown, parts mislabelled, the returned original pasted inline instead of
attached. Every helper returns something usable ('' or ``None``) instead of raising on bad input
(callers still guard the whole classification, see ``classify.classify_with_defects``).
"""

from __future__ import annotations

import codecs
import email.errors
import email.header
import quopri
import re
from collections.abc import Iterator
from email import policy
from email.message import Message
from email.parser import BytesParser

# compat32 never raises on header access (the ``default`` policy can, on broken structured headers)
_PARSER = BytesParser(policy=policy.compat32)

# Parts that carry the returned original, not the report about it.
ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "text/rfc822-headers", "text/rfc822-header", "message/rfc822-headers", "message/global"}
)
REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status", "message/feedback-report"})
_TEXT_LIMIT = 200_000  # characters of report text looked at; real bounce notices are a few KB

# A line that starts the returned original when an MTA pastes it into the notice (qmail, Exim,
# Postfix plain text, Sendmail v5, Yahoo, Domino ...): generic phrasing, not one MTA's banner.
_ORIGINAL_MARKER = re.compile(
    r"^[\s>|*#=_-]*("
    r"(-{2,}|={2,}|\*{2,}|_{2,})?\s*(this is a copy of|below (this line )?is a copy of|a copy of (the|your)"
    r" (original )?message|original message|returned message|returned mail|undelivered message"
    r"|start of returned message|message headers follow|headers of the (original|returned)"
    r"|the header of the original|original mail|rfc822|unsent message|text of the original)"
    r"|(original|returned) message (follows|below|headers)"
    r"|.{0,40}\b(message|mail) (headers|text|content) follow"
    r")",
    re.IGNORECASE,
)
_HEADER_START = re.compile(r"^(Received: ?(from|by) |Return-Path: ?<|Message-ID: ?<)", re.IGNORECASE)


def parse(raw: bytes) -> Message:
    """The message as the stdlib reads it (compat32: lenient, never raises on header access)."""
    return _PARSER.parsebytes(raw)


def header(msg: Message, name: str) -> str:
    """A header's value with RFC 2047 words decoded, unfolded; '' when absent or unreadable."""
    wanted = name.lower()
    # raw_items(): the stored string (undecodable bytes kept as surrogates), never a lossy Header
    value = next((v for k, v in msg.raw_items() if k.lower() == wanted), None)
    if value is None:
        return ""
    return decode_header_text(str(value))


def decode_header_text(value: str) -> str:
    """A raw header value as text: RFC 2047 words decoded, undeclared 8-bit guessed, unfolded."""
    text = _raw_charset(value)
    if "=?" in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
            pass
    return " ".join(text.split())


def _raw_charset(text: str) -> str:
    """Undeclared non-ASCII header bytes: ISO-2022-JP escapes (Japanese carriers) or UTF-8."""
    if text.isascii() and "\x1b" not in text:
        return text
    data = text.encode("ascii", "surrogateescape") if text.isascii() else text.encode("utf-8", "surrogateescape")
    for charset in (("iso-2022-jp",) if b"\x1b" in data else ()) + ("utf-8",):
        try:
            return data.decode(charset)
        except UnicodeError:
            continue
    return text


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except (ValueError, TypeError, AttributeError):
        return "text/plain"


def payload_text(part: Message) -> str:
    """A non-multipart part's body as text, decoded by its transfer encoding and charset."""
    try:
        data = _cr_only_qp(part) or part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError, LookupError):
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return _lines(payload) if isinstance(payload, str) else ""
    return _lines(decode_bytes(data[: _TEXT_LIMIT * 2], part.get_content_charset(None)))


def _cr_only_qp(part: Message) -> bytes | None:
    """Quoted-printable with CR-only line ends: the stdlib decoder only knows LF and stops early."""
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "quoted-printable":
        return None
    payload = part.get_payload()
    if not isinstance(payload, str) or "\r" not in payload:
        return None
    return quopri.decodestring(_lines(payload).encode("ascii", "surrogateescape"))


def _lines(text: str) -> str:
    """One line ending (old Mac CR-only and CRLF mail both occur), so ``^``/``$`` work."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def is_text_leaf(part: Message) -> bool:
    """A leaf to read as text: text/*, or a "multipart" whose boundary was lost (read as text)."""
    return not part.is_multipart() and part.get_content_maintype() in ("text", "multipart")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text by the declared charset, falling back to UTF-8 and then Latin-1."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
            return data.decode(candidate)
        except (LookupError, UnicodeError, ValueError):
            continue
    return data.decode("latin-1")


def walk(msg: Message, *, into_originals: bool = False, depth: int = 0) -> Iterator[Message]:
    """Every part, depth first, not descending into an attached original unless asked."""
    yield msg
    if depth > 20 or not msg.is_multipart():
        return
    if content_type(msg) in ORIGINAL_TYPES and not into_originals:
        return
    payload = msg.get_payload()
    if not isinstance(payload, list):
        return
    for part in payload[:200]:
        if isinstance(part, Message):
            yield from walk(part, into_originals=into_originals, depth=depth + 1)


def report_text(msg: Message) -> str:
    """The human-readable notice: the text parts outside the attached original, cut where a
    pasted-in original begins."""
    return cut_original(report_text_uncut(msg))


def report_text_uncut(msg: Message) -> str:
    """The text parts outside the attached original, including a pasted-in original."""
    chunks: list[str] = []
    html: list[str] = []
    for part in walk(msg):
        ctype = content_type(part)
        if part.is_multipart() or ctype in ORIGINAL_TYPES or ctype in REPORT_TYPES:
            continue
        if ctype == "text/html":
            html.append(payload_text(part))
        elif is_text_leaf(part) or ctype == "application/octet-stream" and part is msg:
            chunks.append(payload_text(part))
    if not chunks and html:
        chunks = [_html_to_text(h) for h in html]
    return "\n".join(chunks)[:_TEXT_LIMIT]


def cut_original(text: str) -> str:
    """The text before a pasted-in copy of the original message."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if index > 1 and (_ORIGINAL_MARKER.match(line) or _HEADER_START.match(line)):
            return "\n".join(lines[:index])
    return "\n".join(lines)


def after_original_marker(text: str) -> str:
    """The pasted-in original (headers first), or '' when the notice does not include one."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if index > 1 and (_ORIGINAL_MARKER.match(line) or _HEADER_START.match(line)):
            return "\n".join(lines[index:])
    return ""


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)


def _html_to_text(html: str) -> str:
    """Just enough HTML to text for notices sent as HTML only (Office 365, Gmail variants)."""
    text = _TAG.sub(" ", _BREAK.sub("\n", html))
    for entity, char in (
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ):
        text = text.replace(entity, char)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def all_text(msg: Message) -> str:
    """Every text part's body, originals included (for the no-code check and last-resort search)."""
    return "\n".join(
        payload_text(part)
        for part in walk(msg, into_originals=True)
        if not part.is_multipart() and part.get_content_maintype() in ("text", "message")
    )[:_TEXT_LIMIT]
