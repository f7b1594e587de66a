"""Reading the header section of a MIME message, the one way every ingest path does it.

Raw MIME reaches us over HTTP (the ``raw`` provider, and header blocks inside Mailgun, SendGrid,
Forward Email and Postmark deliveries) and over SMTP; whichever way a message came, the same
bytes give the same stored headers, fields and defect names (``tests/test_mime_paths.py``).

All input is hostile and nothing here raises on content:

* only the header block is parsed (cut at the first blank line, capped at ``MAX_HEADER_BYTES``);
  the body is never decoded or copied, and messages are kept byte for byte elsewhere;
* RFC 5322 §4.5.4 obsolete syntax (white space before the colon) is read, not dropped;
* stored header values are the received text, unfolded, 8-bit bytes read as UTF-8 (RFC 6532),
  NULs replaced (PostgreSQL refuses them in text); encoded-words stay as sent, and the fields
  taken from them (subject, display names) are decoded;
* what was wrong is reported as a defect: the stdlib parser's defect class names plus
  ``header_block_truncated``, ``obsolete_header_syntax``, ``no_headers``, ``nul_in_headers``,
  ``too_many_headers``, ``invalid_utf8_in_headers``, ``unparseable_<header>``,
  ``unparseable_date`` and ``message_id_too_long``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import Compat32
from typing import TypedDict

from service.errors import BadPayload
from service.mail.inbound import Address, normalise_message_id, parse_addresses, parse_date

#: Header blocks larger than this are truncated (a defect is recorded; the raw bytes stay complete).
MAX_HEADER_BYTES = 4 * 1024 * 1024
#: Headers past this many are not stored (routing rules and the inbox walk the list).
MAX_HEADERS = 1000
#: RFC 5321 allows 254; anything much longer cannot be a real address and must not reach an index.
MAX_ADDRESS_CHARS = 320
#: PostgreSQL cannot index values above ~2.7 kB; no real Message-ID comes close to this.
MAX_MESSAGE_ID_CHARS = 998
#: A verdict value is a word or a score; SpamAssassin's test lists are the longest (~1 KB).
_MAX_VERDICT = 2048
# ``email.header.decode_header`` is quadratic in the number of encoded-words: only decode values
# a mail client could show (a 1 MB subject keeps its raw text).
_MAX_ENCODED_LEN = 16 * 1024

# Line ends as the stdlib parser reads them: CRLF, LF, or a bare CR (old Mac mail). SMTP turns
# each into CRLF on the wire, so reading them alike keeps the two paths' headers equal.
_EOL = rb"(?:\r\n|\n|\r(?!\n))"
_BLANK_LINE = re.compile(_EOL + _EOL)
_FOLDING = re.compile(r"(?:\r\n|\n|\r)(?=[ \t])")
_OBSOLETE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.M)
_OBSOLETE_COLON_CR = re.compile(rb"(?:^|(?<=\r))([!-9;-~]+)[ \t]+:", re.M)  # 4x slower: bare CRs only

Headers = list[tuple[str, str]]


class _RawValues(Compat32):
    """compat32 parsing, but header values come back as the raw (surrogate-escaped) strings.

    Plain compat32 returns ``email.header.Header`` objects for 8-bit values; we decode ourselves.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_COMPAT32 = _RawValues()


class HeaderFields(TypedDict):
    """The ``InboundEmail`` fields that come from a message's header section."""

    header_from: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    subject: str | None
    message_id: str | None
    date: datetime | None


def mime_headers(raw: bytes) -> Headers:
    """The ordered header list of a MIME message; 400 when there is none (embedded raw MIME)."""
    headers, _ = mime_headers_and_defects(raw)
    if not headers:
        raise BadPayload("body is not a MIME message: it has no header block")
    return headers


def mime_headers_and_defects(raw: bytes) -> tuple[Headers, list[str]]:
    """Headers (at most ``MAX_HEADERS``) and what was wrong with the header block."""
    block, defects = _header_block(raw)
    bare_cr = block.count(b"\r") != block.count(b"\r\n")
    normalised = (_OBSOLETE_COLON_CR if bare_cr else _OBSOLETE_COLON).sub(rb"\1:", block)
    if normalised != block:
        # The stdlib would take "From  :" for an mbox separator and drop every header after it.
        defects.append("obsolete_header_syntax")
    message = BytesHeaderParser(policy=RAW_COMPAT32).parsebytes(normalised)
    defects += [type(defect).__name__ for defect in message.defects]
    items = list(message.raw_items())
    if not items:
        defects.append("no_headers")
    if b"\x00" in block:
        defects.append("nul_in_headers")
    if len(items) > MAX_HEADERS:
        defects.append("too_many_headers")
    if not _is_utf8(block):
        defects.append("invalid_utf8_in_headers")
    headers = [(clean_text(name).strip(), unfold(value)) for name, value in items[:MAX_HEADERS]]
    return headers, list(dict.fromkeys(defects))


def _header_block(raw: bytes) -> tuple[bytes, list[str]]:
    """The bytes up to the first blank line, capped at a line end; and whether that cut it short."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", []
    end = _BLANK_LINE.search(raw, 0, MAX_HEADER_BYTES + 4)
    if end is not None:
        return raw[: end.end()], []
    if len(raw) <= MAX_HEADER_BYTES:
        return raw, []
    cut = max(raw.rfind(b"\n", 0, MAX_HEADER_BYTES), raw.rfind(b"\r", 0, MAX_HEADER_BYTES))
    return raw[: cut + 1 if cut > 0 else MAX_HEADER_BYTES], ["header_block_truncated"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def unfold(value: str) -> str:
    """Header values as text: unfolded, 8-bit bytes read as UTF-8 (RFC 6532), NULs replaced."""
    return clean_text(_FOLDING.sub("", value)).strip()


def clean_text(value: str) -> str:
    """Undo surrogate escapes as UTF-8 (U+FFFD where invalid) and replace NULs."""
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def decode_words(value: str | None) -> str | None:
    """Decode RFC 2047 encoded-words (``=?utf-8?q?...?=``); any failure keeps what can be read."""
    if not value or "=?" not in value or len(value) > _MAX_ENCODED_LEN:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # hostile encoded-words raise anything from ValueError to AssertionError
        return value
    try:
        return clean_text(str(make_header(chunks)))
    except Exception:  # an unknown charset in one word: decode the words one by one instead
        return clean_text(" ".join(_chunk_text(chunk, charset) for chunk, charset in chunks))


def _chunk_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    try:
        return chunk.decode(charset or "utf-8", "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def addresses(value: str | None) -> list[Address]:
    """The addresses in one header value. Display names are decoded after splitting (an encoded
    word may hide a comma); absurdly long addresses are dropped rather than stored."""
    if not value:
        return []
    parsed = parse_addresses(clean_text(_FOLDING.sub("", value)))
    return [
        Address(decode_words(a.name) if a.name else None, a.address.strip())
        for a in parsed
        if len(a.address) <= MAX_ADDRESS_CHARS
    ]


def first_header(headers: Headers, name: str) -> str | None:
    """The first value of ``name`` (case-insensitive), as stored; ``None`` when absent."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def header_values(headers: Headers, name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]


def header_verdicts(headers: Headers, names: Mapping[str, str]) -> dict[str, str]:
    """``{key: first value of header names[key]}`` for those present: a provider's spam verdict
    headers (``X-Mailgun-Sflag``, SpamAssassin's ``X-Spam-Status``), values kept as given."""
    wanted = {name: key for key, name in names.items()}
    found: dict[str, str] = {}
    for name, value in headers:  # one pass, first value of each wins
        key = wanted.get(name.lower())
        if key is not None and key not in found and value.strip():
            found[key] = value.strip()[:_MAX_VERDICT]
    return found


def addresses_in(headers: Headers, name: str, defects: list[str] | None = None) -> list[Address]:
    """Addresses in every ``name`` header (repeated To/Cc headers all count). A header the parser
    chokes on yields none and an ``unparseable_<name>`` defect: it must not cost the others."""
    return _addresses_of(header_values(headers, name), name.lower(), defects)


def _addresses_of(values: list[str], name: str, defects: list[str] | None) -> list[Address]:
    found: list[Address] = []
    for value in values:
        try:
            found.extend(addresses(value))
        except Exception:  # RecursionError, IndexError … from email.utils on hostile input
            _note(defects, f"unparseable_{name}")
    return found


def header_fields(headers: Headers, defects: list[str] | None = None) -> HeaderFields:
    """From, To, Cc, Reply-To, Subject, Message-ID and Date; problems go to ``defects``."""
    by_name: dict[str, list[str]] = {}
    for key, value in headers:  # one pass, not one per field: this runs for every delivery
        by_name.setdefault(key.lower(), []).append(value)

    def first(name: str) -> str | None:
        values = by_name.get(name)
        return values[0] if values else None

    message_id = normalise_message_id(first("message-id"))
    if message_id and len(message_id) > MAX_MESSAGE_ID_CHARS:
        _note(defects, "message_id_too_long")
        message_id = None
    return HeaderFields(
        header_from=next(iter(_addresses_of(by_name.get("from", []), "from", defects)), None),
        to=_addresses_of(by_name.get("to", []), "to", defects),
        cc=_addresses_of(by_name.get("cc", []), "cc", defects),
        reply_to=_addresses_of(by_name.get("reply-to", []), "reply-to", defects),
        subject=decode_words(first("subject")),
        message_id=message_id,
        date=_date(first("date"), defects),
    )


def _date(value: str | None, defects: list[str] | None) -> datetime | None:
    """The Date header, or ``None`` with an ``unparseable_date`` defect when one is present but bad."""
    try:
        parsed = parse_date(value)
    except (OverflowError, ArithmeticError, ValueError):  # years past datetime's range
        parsed = None
    if parsed is None and value:
        _note(defects, "unparseable_date")
    return parsed


def _note(defects: list[str] | None, defect: str) -> None:
    if defects is not None and defect not in defects:
        defects.append(defect)
