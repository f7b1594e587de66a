"""The ``message``, ``messageraw`` and ``attachment`` rows, each spelled once.

Two write paths share these definitions: the portable one (any database, SQLAlchemy binds
Python values) and SQLite's fast path (values already in the form SQLAlchemy would bind, straight
to the driver's ``executemany``). They differ only in a ``RowEncoding``, the four conversions a
message row needs (datetimes, JSON values, address lists, header pairs); which column holds what
is decided here, once, for both. ``tests/test_storage_rows.py`` holds the two encodings equal.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.mail.inbound import Address, InboundAttachment, InboundEmail
from service.store.fastinsert import json_name_address_list, json_string_pairs, json_text, sqlite_datetime
from service.store.models import MessageStatus

#: ``message`` columns in the order ``message_values`` fills them; ``parsed_at`` is left to its
#: default (NULL) until the worker hydrates a raw-MIME message.
MESSAGE_COLUMNS = (
    "id",
    "source",
    "provider",
    "provider_event_id",
    "idempotency_key",
    "received_at",
    "envelope_from",
    "envelope_to",
    "from_name",
    "from_address",
    "to",
    "cc",
    "reply_to",
    "subject",
    "message_id",
    "date",
    "text",
    "html",
    "headers",
    "auth",
    "defects",
    "bcc",
    "spam",
    "stripped_text",
    "raw_mime_sha256",
    "raw_mime_size",
    "status",
    "error",
    "attempts",
    "updated_at",
)
RAW_COLUMNS = ("message_id", "content_type", "encoding", "payload")
ATTACHMENT_COLUMNS = (
    "message_id",
    "position",
    "filename",
    "content_type",
    "size",
    "sha256",
    "content_id",
    "disposition",
)


@dataclass(slots=True)
class NewMessage:
    """One email to insert: its new id and the digests of its blobs (already stored)."""

    mid: str
    email: InboundEmail
    raw_sha: str | None
    attachment_shas: list[str]

    def attachment_values(self) -> list[tuple[Any, ...]]:
        return [
            attachment_values(self.mid, position, attachment, sha)
            for position, (attachment, sha) in enumerate(zip(self.email.attachments, self.attachment_shas, strict=True))
        ]


@dataclass(frozen=True, slots=True)
class RowEncoding:
    """How one write path hands a message row's typed values to its driver."""

    when: Callable[[datetime | None], Any]
    json: Callable[[Any], Any]
    addresses: Callable[[list[Address]], Any]
    pairs: Callable[[list[tuple[str, str]]], Any]


def _same(value: datetime | None) -> datetime | None:
    return value


def _address_dicts(addresses: list[Address]) -> list[dict[str, str | None]]:
    return [a.as_dict() for a in addresses]


def _pair_lists(pairs: list[tuple[str, str]]) -> list[list[str]]:
    return [[k, v] for k, v in pairs]


def _addresses_json(addresses: list[Address]) -> str:
    return json_name_address_list([(a.name, a.address) for a in addresses]) if addresses else "[]"


#: Python objects, for SQLAlchemy to bind (any database; also what an unsaved ``Message`` holds).
PYTHON = RowEncoding(when=_same, json=copy.copy, addresses=_address_dicts, pairs=_pair_lists)
#: Exactly what SQLAlchemy would bind on SQLite, built without its per-row processor dispatch,
#: which cost more than the INSERT itself on the ingest hot path.
SQLITE = RowEncoding(when=sqlite_datetime, json=json_text, addresses=_addresses_json, pairs=json_string_pairs)


def message_values(
    message_id: str, email: InboundEmail, raw_sha: str | None, updated_at: Any, encoding: RowEncoding
) -> tuple[Any, ...]:
    """One new ``message`` row in ``MESSAGE_COLUMNS`` order; ``updated_at`` comes encoded (one
    value serves a whole batch)."""
    sender = email.header_from
    return (
        message_id,
        email.source,
        email.provider,
        email.provider_event_id,
        email.idempotency_key,
        encoding.when(email.received_at),
        email.envelope_from,
        encoding.json(email.envelope_to),
        sender.name if sender else None,
        sender.address if sender else None,
        encoding.addresses(email.to),
        encoding.addresses(email.cc),
        encoding.addresses(email.reply_to),
        email.subject,
        email.message_id,
        encoding.when(email.date),
        email.text,
        email.html,
        encoding.pairs(email.headers),
        encoding.json(email.auth),
        encoding.json(email.defects),
        encoding.addresses(email.bcc) if email.bcc else None,
        encoding.json(email.spam) if email.spam else None,
        email.stripped_text,
        raw_sha,
        len(email.raw_mime) if email.raw_mime is not None else None,
        MessageStatus.pending.value,
        None,
        0,
        updated_at,
    )


def message_row(message_id: str, email: InboundEmail, raw_sha: str | None, updated_at: datetime) -> dict[str, Any]:
    """``message_values`` as Python values by column name (the portable insert, ``Message(**row)``)."""
    return dict(zip(MESSAGE_COLUMNS, message_values(message_id, email, raw_sha, updated_at, PYTHON), strict=True))


_COMPRESS_FROM_BYTES = 1024


def raw_values(message_id: str, email: InboundEmail) -> tuple[str, str, str, bytes]:
    """``messageraw`` columns (message_id, content_type, encoding, payload)."""
    payload, encoding = email.raw_payload, "identity"
    if len(payload) >= _COMPRESS_FROM_BYTES:
        # Level 1: most of the size win for a fraction of the CPU of the default level.
        packed = zlib.compress(payload, 1)
        if len(packed) < len(payload):
            payload, encoding = packed, "zlib"
    return message_id, email.raw_content_type, encoding, payload


def attachment_values(
    message_id: str, position: int, attachment: InboundAttachment, sha256: str
) -> tuple[str, int, str | None, str, int, str, str | None, str]:
    """One ``attachment`` row in ``ATTACHMENT_COLUMNS`` order; the content is in the blob store."""
    return (
        message_id,
        position,
        attachment.filename,
        attachment.content_type,
        len(attachment.data),
        sha256,
        attachment.content_id,
        attachment.disposition,
    )


def attachment_rows(
    message_id: str, attachments: Sequence[InboundAttachment], digests: Sequence[str]
) -> list[dict[str, Any]]:
    """Attachment rows by column name, positions in order, each with its blob's digest."""
    return [
        dict(zip(ATTACHMENT_COLUMNS, attachment_values(message_id, position, attachment, digest), strict=True))
        for position, (attachment, digest) in enumerate(zip(attachments, digests, strict=True))
    ]
