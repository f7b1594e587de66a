"""The one shape every provider's delivery is normalised into before it is stored.

Providers differ in everything (JSON, forms, raw MIME, SMTP); from here on Mailhook only sees
``InboundEmail``. The field list follows ../shared/providers.md §0.1.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Every pair of Crockford digits, indexed by the 10 bits they encode: 13 lookups make an id,
# about a third of the cost of 26 single-digit steps (new_id runs once per stored message).
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_PAIR_SHIFTS = tuple(range(120, -1, -10))


_last_id = [0]
_id_lock = threading.Lock()


def new_id() -> str:
    """A 26-character, time-ordered id (ULID layout) so ids sort by arrival in every database.

    Monotonic within a process (as ULID's monotonic mode): an id made in the same millisecond as
    the previous one is that one plus one, never a random smaller value. The read API hands out
    a message's id as the cursor for "what came after it"; two mails to one address stored in
    the same millisecond by two group commits must not sort against their order of storage.
    """
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    with _id_lock:
        last = _last_id[0]
        if value <= last and value >> 80 == last >> 80:
            value = last + 1
        _last_id[0] = value
    return encode_id(value)


def encode_id(value: int) -> str:
    """A 128-bit value as 26 Crockford characters: ``new_id``'s alphabet, so cursors made from
    an instant (``value = ms << 80``) compare with message ids."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


@dataclass(frozen=True, slots=True)
class Address:
    name: str | None
    address: str

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "address": self.address}


@dataclass(slots=True)
class InboundAttachment:
    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None = None
    disposition: str = "attachment"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(slots=True)
class InboundEmail:
    """A normalised delivery; ``raw_payload`` is the request body with provider secrets removed."""

    provider: str
    source: str
    idempotency_key: str
    raw_payload: bytes
    raw_content_type: str = "application/json"
    provider_event_id: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    envelope_from: str | None = None
    envelope_to: list[str] = field(default_factory=list)
    header_from: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    subject: str | None = None
    message_id: str | None = None
    date: datetime | None = None
    text: str | None = None
    html: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    raw_mime: bytes | None = None
    auth: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)


def idempotency_key(*parts: str | None) -> str:
    """sha256 over the identifying parts; used where the provider gives no delivery id."""
    joined = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_message_id(value: str | None) -> str | None:
    """Message-IDs arrive with and without angle brackets; store them as ``<...>``."""
    if not value:
        return None
    value = value.strip()
    if not value:
        return None
    return value if value.startswith("<") else f"<{value.strip('<>')}>"


def parse_addresses(value: str | None) -> list[Address]:
    """Addresses in a header value; hostile input (deeply nested comments recurse in the stdlib
    parser) yields no addresses rather than an exception."""
    if not value:
        return []
    try:
        pairs = getaddresses([value])
    except (RecursionError, ValueError, IndexError):
        return []
    return [Address(name or None, addr) for name, addr in pairs if addr]


def parse_date(value: str | None) -> datetime | None:
    """RFC 2822 dates from headers; ``None`` for anything unparseable (never raise on user data)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # a 20-digit year overflows
        return None
    if not parsed.tzinfo:
        return parsed.replace(tzinfo=UTC)
    try:
        # Dates are stored in UTC; "31 Dec 9999 23:59 -0100" is past datetime.max there, and failing
        # at INSERT would fail every delivery committed in the same group commit.
        parsed.astimezone(UTC)
    except OverflowError:
        return None
    return parsed


def from_timestamp(value: float | None) -> datetime | None:
    """A provider's Unix timestamp as UTC; ``None`` when absent or outside datetime's range (or
    NaN/Infinity, which Python's JSON reader accepts): metadata we can do without, never a reason
    to refuse or fail a delivery."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return None
