"""Parsing the forms providers send: url-encoded and ``multipart/form-data`` (Mailgun routes,
SendGrid Inbound Parse), kept as bytes so that each provider decodes fields with the charset it
documents. MIME header blocks (the ``raw`` provider, Forward Email ``raw``, Mailgun
``body-mime``, SendGrid ``email``/``headers``, Postmark ``RawEmail``, SES inbound) are read by
``service.mime.headers``, the same reader SMTP uses.

All input is hostile: a malformed form is ``BadPayload`` (400), a form where none is expected
``UnsupportedMediaType`` (415).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from service.errors import BadPayload, UnsupportedMediaType
from service.providers.base import Delivery

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_MAX_PARTS = 5000
_MAX_PART_HEADER = 64 * 1024


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
    # Unknown, not a text codec ("base64", "idna", ...), or no codec name at all ("utf\x00-8" is
    # ValueError "embedded null character"; UnicodeError is a ValueError too).
    except (LookupError, ValueError):
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
