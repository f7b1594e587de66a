"""The one shape every provider's delivery is normalised into before it is stored.

Providers differ in everything (JSON, forms, raw MIME, SMTP); from here on Mailhook only sees
``InboundEmail``. The field list follows ../shared/providers.md §0.1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from itertools import chain

from service.mail.storable import any_unstorable, safe_filename, scrub


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
    if not any_unstorable(_texts(email)):
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


#: ``InboundEmail`` fields that hold text (directly or inside lists, dicts, addresses).
_TEXT_FIELDS = tuple(
    f.name for f in fields(InboundEmail) if f.name not in ("raw_payload", "raw_mime", "received_at", "date")
)
_SCALAR_TEXT_FIELDS = (
    "provider", "source", "idempotency_key", "raw_content_type", "provider_event_id", "envelope_from",
    "subject", "message_id", "text", "html", "stripped_text",
)  # fmt: skip
