"""Header parsing for mail received over SMTP, written for hostile input.

The header block is cut out of the raw bytes and capped before the stdlib parser sees it, values
are decoded (raw UTF-8 per RFC 6532, then RFC 2047 encoded-words) without ever raising, and NULs
and undecodable bytes become U+FFFD: every string leaving this module can be stored by any database.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32

from service.inbound import Address, parse_addresses

#: Header blocks larger than this are truncated (a defect is recorded; the raw bytes stay complete).
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_HEADERS = 1000
MAX_VALUE_CHARS = 64 * 1024
#: RFC 5321 allows 254; anything much longer cannot be a real address and must not reach an index.
MAX_ADDRESS_CHARS = 320

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


class _RawValues(Compat32):
    """compat32 parsing, but header values come back as the raw (surrogate-escaped) strings.

    Plain compat32 returns ``email.header.Header`` objects for 8-bit values; we decode ourselves.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_COMPAT32 = _RawValues()


def header_block(raw: bytes) -> tuple[bytes, bool]:
    """The bytes up to and including the first blank line, capped; True when truncated."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", False
    end = _BLANK_LINE.search(raw, 0, MAX_HEADER_BYTES + 4)
    if end is not None:
        return raw[: end.end()], False
    if len(raw) <= MAX_HEADER_BYTES:
        return raw, False
    cut = raw.rfind(b"\n", 0, MAX_HEADER_BYTES)
    return raw[: cut + 1 if cut > 0 else MAX_HEADER_BYTES], True


def parse_headers(raw: bytes) -> tuple[Message, list[str]]:
    """Parse only the header block; return the message and the defects found on the way."""
    block, truncated = header_block(raw)
    message = BytesHeaderParser(policy=RAW_COMPAT32).parsebytes(block)
    defects = [type(d).__name__ for d in message.defects]
    if truncated:
        defects.append("header_block_truncated")
    if b"\x00" in block:
        defects.append("nul_in_headers")
    if not message.keys():
        defects.append("no_headers")
    if len(message.keys()) > MAX_HEADERS:
        defects.append("too_many_headers")
    if not _is_utf8(block):
        defects.append("invalid_utf8_in_headers")
    return message, defects


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean(value: str) -> str:
    """Undo surrogate escapes as UTF-8 (U+FFFD where invalid) and replace NULs."""
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def decode_value(value: str) -> str:
    """Unfold, decode raw UTF-8 and RFC 2047 encoded-words; any failure keeps the undecoded text."""
    text = clean(_FOLD.sub("", value)).strip()
    if "=?" not in text:
        return text
    try:
        chunks = decode_header(text)
    except Exception:  # hostile encoded-words raise anything from ValueError to AssertionError
        return text
    try:
        return clean(str(make_header(chunks)))
    except Exception:  # unknown charset in one word: decode the words one by one instead
        return clean(" ".join(_chunk_text(chunk, charset) for chunk, charset in chunks))


def _chunk_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    try:
        return chunk.decode(charset or "utf-8", "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def first(message: Message, name: str) -> str | None:
    """The first header of ``name``, decoded; ``None`` when absent."""
    value = message.get(name)
    return decode_value(value) if isinstance(value, str) else None


def all_values(message: Message, name: str) -> list[str]:
    return [decode_value(v) for v in message.get_all(name, []) if isinstance(v, str)]


def header_list(message: Message) -> list[tuple[str, str]]:
    """Every header in order (capped in count and length) for storage and routing rules."""
    items = message.items()[:MAX_HEADERS]
    return [(clean(name).strip(), decode_value(value)[:MAX_VALUE_CHARS]) for name, value in items]


def addresses(message: Message, name: str, defects: list[str] | None = None) -> list[Address]:
    """Addresses in every ``name`` header; display names are decoded after splitting (an encoded
    word may hide a comma), and absurdly long addresses are dropped rather than stored.

    A header the stdlib cannot parse (nested comments recurse) yields no addresses and, when
    ``defects`` is given, an ``unparseable_<name>`` entry: one bad header must not cost the others.
    """
    found: list[Address] = []
    for value in message.get_all(name, []):
        if not isinstance(value, str):
            continue
        try:
            found.extend(parse_address_list(value))
        except Exception:  # RecursionError, IndexError … from email.utils on hostile input
            if defects is not None:
                defects.append(f"unparseable_{name.lower()}")
    return found


def parse_address_list(value: str) -> list[Address]:
    raw = clean(_FOLD.sub("", value))[:MAX_VALUE_CHARS]
    parsed = parse_addresses(raw)
    return [
        Address(decode_value(a.name) if a.name else None, a.address.strip())
        for a in parsed
        if len(a.address) <= MAX_ADDRESS_CHARS
    ]
