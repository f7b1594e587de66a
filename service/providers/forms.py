"""Parsing the non-JSON bodies providers send: forms and MIME header blocks.

* url-encoded and ``multipart/form-data`` forms (Mailgun routes, SendGrid Inbound Parse), kept
  as bytes so that each provider decodes fields with the charset it documents;
* MIME header blocks (the ``raw`` provider, Forward Email ``raw``, Mailgun ``body-mime``,
  SendGrid ``email``/``headers``, Postmark ``RawEmail``), read without touching the body.

All input is hostile: a malformed form is ``BadPayload`` (400), a form where none is expected
``UnsupportedMediaType`` (415), and header *values* are decoded leniently (a broken charset or
encoded-word never rejects a message).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from typing import Any, TypedDict
from urllib.parse import unquote_to_bytes

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from service.errors import BadPayload, UnsupportedMediaType
from service.inbound import Address, normalise_message_id, parse_addresses, parse_date
from service.providers.base import Delivery

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_MAX_PARTS = 5000
_MAX_PART_HEADER = 64 * 1024
# Where to give up looking for the blank line that ends the header block.
_MAX_HEADER_BLOCK = 8 * 1024 * 1024
# ``email.header.decode_header`` is quadratic in the number of encoded-words: only decode values
# a mail client could show (a 1 MB subject keeps its raw text).
_MAX_ENCODED_LEN = 16 * 1024
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
#: A verdict value is a word or a score; SpamAssassin's test lists are the longest (~1 KB).
_MAX_VERDICT = 2048


@dataclass(frozen=True, slots=True)
class FormPart:
    """One form field; ``filename`` is set for file parts (attachments)."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(slots=True)
class Form:
    """A parsed form, order-preserving, repeated names kept; values stay bytes until asked for."""

    parts: list[FormPart] = field(default_factory=list)
    content_type: str = URLENCODED

    def get(self, name: str) -> FormPart | None:
        return next((part for part in self.parts if part.name == name), None)

    def text(self, name: str, charset: str | None = None) -> str | None:
        part = self.get(name)
        return None if part is None else decode_text(part.data, charset)

    def files(self) -> list[FormPart]:
        return [part for part in self.parts if part.filename is not None]


def parse_form(delivery: Delivery, accept: tuple[str, ...] = (URLENCODED, MULTIPART)) -> Form:
    """Parse the body as one of the ``accept``-ed form types (415 for anything else)."""
    kind = delivery.content_type
    if kind not in accept:
        raise UnsupportedMediaType(f"expected {' or '.join(accept)}, got {kind or 'no Content-Type'}")
    if kind == URLENCODED:
        return Form(_urlencoded(delivery.body), URLENCODED)
    boundary = _boundary(delivery.headers.get("content-type", ""))
    return Form(_multipart(delivery.body, boundary), f'{MULTIPART}; boundary="{boundary.decode("latin-1")}"')


def media_type(value: Any) -> str:
    """An attachment's Content-Type as stored (the column holds 255 characters)."""
    if not isinstance(value, str) or not value.strip():
        return "application/octet-stream"
    return value.strip()[:255]


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset; unknown charsets and bad bytes never raise."""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError):  # unknown, or not a text codec ("base64", "idna", ...)
        return data.decode("utf-8", "replace")


def _urlencoded(body: bytes) -> list[FormPart]:
    parts: list[FormPart] = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        if len(parts) >= _MAX_PARTS:
            raise BadPayload(f"form has more than {_MAX_PARTS} fields")
        name, _, value = pair.partition(b"=")
        parts.append(FormPart(decode_text(_unquote(name)), _unquote(value)))
    return parts


def _unquote(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))


def _boundary(content_type: str) -> bytes:
    # Starlette hands headers over as latin-1 text: back to the bytes that were sent.
    boundary = _params(content_type.encode("latin-1", "replace")).get(b"boundary", b"")
    if not 1 <= len(boundary) <= 200:  # RFC 2046: 1..70 characters; be a little generous
        raise BadPayload("multipart/form-data without a usable boundary parameter")
    return boundary


def _params(header: bytes) -> dict[bytes, bytes]:
    # Parameter names are case-insensitive (RFC 2045 §5.1); latin-1 keeps the bytes as they came.
    _, params = parse_options_header(header.decode("latin-1"))
    return {name.lower(): value for name, value in params.items()}


class _PartCollector:
    """Callbacks for python-multipart's streaming parser, collecting whole parts in memory."""

    def __init__(self) -> None:
        self.parts: list[FormPart] = []
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._chunks: list[bytes] = []

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": lambda d, s, e: self._chunks.append(d[s:e]),
            "on_part_end": self._end,
            "on_end": lambda: setattr(self, "ended", True),
        }

    def _begin(self) -> None:
        if len(self.parts) >= _MAX_PARTS:
            raise BadPayload(f"form has more than {_MAX_PARTS} parts")
        self._headers, self._chunks = {}, []

    def _header_end(self) -> None:
        self._headers[bytes(self._field).strip().lower()] = bytes(self._value).strip()
        self._field.clear()
        self._value.clear()

    def _end(self) -> None:
        params = _params(self._headers.get(b"content-disposition", b""))
        if b"name" not in params:
            raise BadPayload("multipart part without a Content-Disposition name")
        # Browsers and SendGrid put raw UTF-8 in filenames (RFC 7578 §4.2), not RFC 2231.
        filename = params.get(b"filename")
        content_type = self._headers.get(b"content-type")
        self.parts.append(
            FormPart(
                name=decode_text(params[b"name"]),
                data=b"".join(self._chunks),
                filename=decode_text(filename) if filename is not None else None,
                content_type=decode_text(content_type).lower() if content_type else None,
            )
        )
        self._chunks = []


def _multipart(body: bytes, boundary: bytes) -> list[FormPart]:
    collector = _PartCollector()
    parser = MultipartParser(boundary, collector.callbacks(), max_header_count=32, max_header_size=_MAX_PART_HEADER)
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise BadPayload(f"malformed multipart body: {exc}") from None
    if not collector.ended:
        raise BadPayload("multipart body is truncated: no closing boundary")
    return collector.parts


# --- MIME header blocks -------------------------------------------------------------------

_OBSOLETE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.M)


class HeaderFields(TypedDict):
    """The ``InboundEmail`` fields that come from a message's header section."""

    header_from: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    subject: str | None
    message_id: str | None
    date: datetime | None


def mime_headers(raw: bytes) -> list[tuple[str, str]]:
    """The ordered header list of a MIME message; 400 when there is none (embedded raw MIME)."""
    headers, _ = mime_headers_and_defects(raw)
    if not headers:
        raise BadPayload("body is not a MIME message: it has no header block")
    return headers


def mime_headers_and_defects(raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """Headers and what was wrong with them; never raises on content.

    Only the header block is parsed: the body is never decoded or copied (messages can be tens
    of MB and are kept byte for byte).
    """
    if not raw or raw[:1] == b"\n" or raw[:2] == b"\r\n":
        return [], ["no_headers"]
    block, defects = _header_block(raw)
    # RFC 5322 §4.5.4 obsolete syntax allows white space before the colon ("To    : x"); the
    # stdlib would take "From  :" for an mbox separator and drop every header after it.
    normalised = _OBSOLETE_COLON.sub(rb"\1:", block)
    if normalised != block:
        defects.append("obsolete_header_syntax")
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(normalised)
    defects += [type(defect).__name__ for defect in message.defects]
    headers = [(clean_text(name), unfold(value)) for name, value in message.raw_items()]
    if not headers:
        defects.append("no_headers")
    if b"\x00" in block:
        defects.append("nul_in_headers")
    return headers, list(dict.fromkeys(defects))


def _header_block(raw: bytes) -> tuple[bytes, list[str]]:
    limit = min(len(raw), _MAX_HEADER_BLOCK)
    ends = [i for i in (raw.find(b"\n\n", 0, limit), raw.find(b"\n\r\n", 0, limit)) if i >= 0]
    if ends:
        return raw[: min(ends) + 1], []
    if len(raw) > limit:
        return raw[:limit], ["header_block_truncated"]
    return raw, []


def unfold(value: str) -> str:
    """Header values as text: unfolded, 8-bit bytes read as UTF-8 (RFC 6532), NULs removed."""
    return clean_text(_FOLDING.sub("", value)).strip()


def clean_text(value: str) -> str:
    # compat32 keeps non-ASCII header bytes as surrogate escapes; PostgreSQL refuses NUL in text.
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def decode_words(value: str | None) -> str | None:
    """Decode RFC 2047 encoded-words (``=?utf-8?q?...?=``), leaving the text as is on any error."""
    if not value or "=?" not in value or len(value) > _MAX_ENCODED_LEN:
        return value
    try:
        return clean_text(str(make_header(decode_header(value))))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def addresses(value: str | None) -> list[Address]:
    """Addresses with RFC 2047 display names decoded."""
    return [Address(decode_words(a.name), a.address) for a in parse_addresses(value)]


def first_header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def header_verdicts(headers: list[tuple[str, str]], names: Mapping[str, str]) -> dict[str, str]:
    """``{key: first value of header names[key]}`` for those present: a provider's spam verdict
    headers (``X-Mailgun-Sflag``, SpamAssassin's ``X-Spam-Status``), values kept as given."""
    wanted = {name: key for key, name in names.items()}
    found: dict[str, str] = {}
    for name, value in headers:  # one pass, first value of each wins
        key = wanted.get(name.lower())
        if key is not None and key not in found and value.strip():
            found[key] = value.strip()[:_MAX_VERDICT]
    return found


def header_fields(headers: list[tuple[str, str]]) -> HeaderFields:
    def joined(name: str) -> list[Address]:  # repeated To/Cc headers all count
        return addresses(", ".join(value for key, value in headers if key.lower() == name))

    return HeaderFields(
        header_from=next(iter(addresses(first_header(headers, "from"))), None),
        to=joined("to"),
        cc=joined("cc"),
        reply_to=joined("reply-to"),
        subject=decode_words(first_header(headers, "subject")),
        message_id=normalise_message_id(first_header(headers, "message-id")),
        date=parse_date(first_header(headers, "date")),
    )
