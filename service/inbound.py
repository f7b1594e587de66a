"""The one shape every provider's delivery is normalised into before it is stored.

Providers differ in everything (JSON, forms, raw MIME, SMTP); from here on Mailhook only sees
``InboundEmail``. The field list follows ../shared/providers.md §0.1.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from itertools import chain, repeat
from typing import Any

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
    """One attachment; ``filename`` is made safe on construction (see ``safe_filename``), so no
    provider can hand a path to storage."""

    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None = None
    disposition: str = "attachment"

    def __post_init__(self) -> None:
        self.filename = safe_filename(self.filename)

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
    #: Blind copies, where the provider knows them (Postmark ``BccFull``, mailparser ``bcc``).
    bcc: list[Address] = field(default_factory=list)
    #: The provider's spam verdict, as it gives it: ``{"flag": "yes", "score": "5.1", ...}``.
    spam: dict[str, str] = field(default_factory=dict)
    #: The reply without quoted text and signature, by the provider's own heuristics.
    stripped_text: str | None = None


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


# --- making hostile text storable --------------------------------------------------------------

#: Any UTF-16 surrogate code point: JSON's ``"\\ud800"`` escape decodes to one when it is not
#: half of a pair, and no UTF-8 encoder (database driver, HTTP client, template) accepts it.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Characters no file name may hold: C0 and C1 controls, DEL (RFC 2183 §2.3 leaves the
#: receiver to decide what a safe name is; these end lines and strings in every consumer).
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: The usual name, stored as given: no separator, control character, drive prefix or surrounding
#: blank, not only dots, at most 255 characters.
_PLAIN_NAME = re.compile(
    r"(?![A-Za-z]:)(?!\.*$)[^\x00-\x1f\x7f-\x9f/\\\s]([^\x00-\x1f\x7f-\x9f/\\]{0,253}[^\x00-\x1f\x7f-\x9f/\\\s])?"
)
_MAX_FILENAME_CHARS = 255


def _unstorable_text(text: str) -> bool:
    """Text no store takes as it is: a lone surrogate (no UTF-8 encoder accepts it) or NUL
    (PostgreSQL text refuses it; ``json.dumps`` and SQLite do not, so it passed every test)."""
    return "\x00" in text or (not text.isascii() and _SURROGATE.search(text) is not None)


def has_unstorable(value: Any) -> bool:
    """Whether ``value`` (text, or lists/dicts/addresses of it) holds unstorable text.
    Allocates nothing: ASCII text, nearly all of it, is answered by a flag and a ``find``."""
    if isinstance(value, str):
        return _unstorable_text(value)
    if isinstance(value, list | tuple):
        return any(map(has_unstorable, value))
    if isinstance(value, dict):
        return any(has_unstorable(k) or has_unstorable(v) for k, v in value.items())
    if isinstance(value, Address | InboundAttachment):
        return any(has_unstorable(getattr(value, f.name)) for f in fields(value) if f.name != "data")
    return False


def scrub(value: Any) -> Any:
    """``value`` (text, or JSON-shaped lists/dicts of it) with lone surrogates and NUL replaced
    by U+FFFD; the very same object when there was nothing to replace."""
    if not has_unstorable(value):
        return value
    if isinstance(value, str):
        return _repair(value)
    if isinstance(value, list | tuple):
        items = [scrub(item) for item in value]
        return type(value)(items)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, Address | InboundAttachment):
        return replace(value, **{f.name: scrub(getattr(value, f.name)) for f in fields(value) if f.name != "data"})
    return value


def _repair(text: str) -> str:
    """Surrogates from ``surrogateescape`` decoding (8-bit header bytes read by the stdlib) are
    the original bytes: read them as UTF-8. Any other (a JSON ``\\ud800``) and NUL become U+FFFD."""
    text = text.replace("\x00", "\ufffd")
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def repair_text(email: InboundEmail) -> list[str]:
    """Replace lone surrogates and NUL in every text field of ``email`` (in place) and record
    which fields held them as one ``unstorable_text`` defect. Returns the field names.

    A lone surrogate is valid JSON (``"\\ud800"``) but not text, and PostgreSQL refuses NUL
    (``"\\u0000"``): storing either failed the whole group commit (a poison delivery answered
    503 as if the store were down) and, where a surrogate got into a JSON column, the worker's
    Slack post raised ``UnicodeEncodeError``. Replacing the code point keeps everything else;
    the raw payload still holds the original escape.

    Runs for every delivery, so the common case (nothing to repair) is two flat passes in C over
    the email's strings (``str.isascii``, then a search for NUL).
    """
    texts = _texts(email)
    if (all(map(str.isascii, texts)) or not any(map(_SURROGATE.search, texts))) and not any(
        map(str.__contains__, texts, repeat("\x00"))
    ):
        return []
    repaired: list[str] = []
    for name in _TEXT_FIELDS:
        value = getattr(email, name)
        clean = scrub(value)
        if clean is not value:
            setattr(email, name, clean)
            repaired.append(name)
    if repaired:
        email.defects.append("unstorable_text: replaced in " + ", ".join(repaired))
    return repaired


def _texts(email: InboundEmail) -> list[str]:
    """Every string an email holds (not its bytes), in one flat list; no string is copied."""
    texts = [value for name in _SCALAR_TEXT_FIELDS if (value := getattr(email, name)) is not None]
    texts += email.envelope_to
    texts += email.defects
    texts += chain.from_iterable(email.headers)
    for address in chain(email.to, email.cc, email.reply_to, email.bcc):
        texts.append(address.address)
        if address.name is not None:
            texts.append(address.name)
    if email.header_from is not None:
        texts += (email.header_from.address, email.header_from.name or "")
    for attachment in email.attachments:
        texts += (
            attachment.content_type,
            attachment.disposition,
            attachment.filename or "",
            attachment.content_id or "",
        )
    for verdicts in (email.auth, email.spam):
        texts += verdicts
        texts += verdicts.values()
    return texts


def safe_filename(name: str | None) -> str | None:
    """The stored name of an attachment: only the last path component, never a path.

    RFC 7578 §4.2 and RFC 2183 §2.3: a receiver keeps the last component of a name that
    carries a directory (``\\share\\mail\\forwarded.msg`` → ``forwarded.msg``; both separators,
    since Outlook sends Windows paths). Control characters are removed; names that would still
    mean something to a file system (empty, ``.``, ``..``, dots only, a drive prefix) become
    ``None``, i.e. "no name". Long names keep their extension within 255 characters.
    """
    if name is None or _PLAIN_NAME.fullmatch(name):
        return name
    last = re.split(r"[\\/]", scrub(_UNSAFE_IN_NAME.sub("", name)))[-1]
    cleaned = _DRIVE.sub("", last).strip()
    if not cleaned.strip("."):
        return None
    if len(cleaned) > _MAX_FILENAME_CHARS:
        stem, dot, extension = cleaned.rpartition(".")
        keep = dot + extension if dot and len(extension) <= 16 else ""
        cleaned = (stem if keep else cleaned)[: _MAX_FILENAME_CHARS - len(keep)] + keep
    return cleaned


#: ``InboundEmail`` fields that hold text (directly or inside lists, dicts, addresses).
_TEXT_FIELDS = tuple(
    f.name for f in fields(InboundEmail) if f.name not in ("raw_payload", "raw_mime", "received_at", "date")
)
_SCALAR_TEXT_FIELDS = (
    "provider", "source", "idempotency_key", "raw_content_type", "provider_event_id", "envelope_from",
    "subject", "message_id", "text", "html", "stripped_text",
)  # fmt: skip
