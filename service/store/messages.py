"""Named database operations for messages; route handlers and jobs never build queries inline."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.inbound import Address, InboundEmail, new_id
from service.store.blobs import BlobStore
from service.store.fastinsert import FastInsert, json_name_address_list, json_string_pairs, json_text, sqlite_datetime
from service.store.models import Attachment, Message, MessageRaw, MessageStatus, table_of, utcnow
from service.store.recipients import RECIPIENT_COLUMNS, MessageRecipient, recipient_values


@dataclass(frozen=True, slots=True)
class StoreResult:
    message_id: str
    duplicate: bool


def _message_row(message_id: str, email: InboundEmail, raw_sha: str | None) -> dict[str, Any]:
    sender = email.header_from
    return {
        "id": message_id,
        "source": email.source,
        "provider": email.provider,
        "provider_event_id": email.provider_event_id,
        "idempotency_key": email.idempotency_key,
        "received_at": email.received_at,
        "envelope_from": email.envelope_from,
        "envelope_to": list(email.envelope_to),
        "from_name": sender.name if sender else None,
        "from_address": sender.address if sender else None,
        "to": [a.as_dict() for a in email.to],
        "cc": [a.as_dict() for a in email.cc],
        "reply_to": [a.as_dict() for a in email.reply_to],
        "subject": email.subject,
        "message_id": email.message_id,
        "date": email.date,
        "text": email.text,
        "html": email.html,
        "headers": [[k, v] for k, v in email.headers],
        "auth": dict(email.auth),
        "defects": list(email.defects),
        "bcc": [a.as_dict() for a in email.bcc] or None,
        "spam": dict(email.spam) or None,
        "stripped_text": email.stripped_text,
        "raw_mime_sha256": raw_sha,
        "raw_mime_size": len(email.raw_mime) if email.raw_mime is not None else None,
        "status": MessageStatus.pending.value,
        "error": None,
        "attempts": 0,
        "updated_at": utcnow(),
    }


def _insert_ignoring_duplicates(engine: Engine) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(Message).on_conflict_do_nothing(index_elements=["idempotency_key"])


def store_batch(engine: Engine, blobs: BlobStore, emails: Sequence[InboundEmail]) -> list[StoreResult]:
    """Insert new emails in one transaction; a repeated idempotency key maps to the existing row.

    Blobs are written (and fsynced) before the commit that references them, so a committed row
    never points at missing content.
    """
    if not emails:
        return []
    first_id: dict[str, str] = {}
    unique: list[InboundEmail] = []
    for email in emails:
        if email.idempotency_key not in first_id:
            first_id[email.idempotency_key] = new_id()
            unique.append(email)
    # One put_many for the whole batch (its fsyncs overlap); the digests it returns are what the
    # rows record, so each blob is hashed once.
    digests = iter(blobs.put_many([data for email in unique for data in _blobs_of(email)]))
    planned: list[_Plan] = []
    for email in unique:
        raw_sha = next(digests) if email.raw_mime is not None else None
        attachment_shas = [next(digests) for _ in email.attachments]
        planned.append(_Plan(first_id[email.idempotency_key], email, raw_sha, attachment_shas))
    writer = _insert_sqlite if engine.dialect.name == "sqlite" else _insert_portable
    existing = writer(engine, planned)
    first_id.update(existing)
    return [StoreResult(first_id[e.idempotency_key], e.idempotency_key in existing) for e in emails]


def _blobs_of(email: InboundEmail) -> list[bytes]:
    """The raw MIME (when kept) then each attachment's bytes, in the order ``_Plan`` reads them."""
    head = [email.raw_mime] if email.raw_mime is not None else []
    return head + [attachment.data for attachment in email.attachments]


@dataclass(slots=True)
class _Plan:
    """One email to insert: its new id and the digests of its blobs (already stored)."""

    mid: str
    email: InboundEmail
    raw_sha: str | None
    attachment_shas: list[str]


_COMPRESS_FROM_BYTES = 1024


def _raw_values(mid: str, email: InboundEmail) -> tuple[str, str, str, bytes]:
    """``messageraw`` columns (message_id, content_type, encoding, payload)."""
    payload, encoding = email.raw_payload, "identity"
    if len(payload) >= _COMPRESS_FROM_BYTES:
        # Level 1: most of the size win for a fraction of the CPU of the default level.
        packed = zlib.compress(payload, 1)
        if len(packed) < len(payload):
            payload, encoding = packed, "zlib"
    return mid, email.raw_content_type, encoding, payload


def _raw_row(mid: str, email: InboundEmail) -> dict[str, Any]:
    return dict(zip(_RAW_COLUMNS, _raw_values(mid, email), strict=True))


_RAW_COLUMNS = ("message_id", "content_type", "encoding", "payload")


def _insert_portable(engine: Engine, planned: list[_Plan]) -> dict[str, str]:
    """Any database: INSERT … ON CONFLICT DO NOTHING RETURNING, safe across processes."""
    with engine.begin() as conn:
        stmt = _insert_ignoring_duplicates(engine).returning(Message.id)
        inserted = {row[0] for row in conn.execute(stmt, [_message_row(p.mid, p.email, p.raw_sha) for p in planned])}
        fresh = [p for p in planned if p.mid in inserted]
        if fresh:
            conn.execute(insert(MessageRaw), [_raw_row(p.mid, p.email) for p in fresh])
        recipients = [dict(zip(RECIPIENT_COLUMNS, v, strict=True)) for p in fresh for v in _recipients(p)]
        if recipients:
            conn.execute(insert(MessageRecipient), recipients)
        attachment_rows = [_attachment_row(p, i) for p in fresh for i in range(len(p.attachment_shas))]
        if attachment_rows:
            conn.execute(insert(Attachment), attachment_rows)
        missing = [p.email.idempotency_key for p in planned if p.mid not in inserted]
        if not missing:
            return {}
        found = conn.execute(
            select(col(Message.idempotency_key), col(Message.id)).where(col(Message.idempotency_key).in_(missing))
        )
        return {key: mid for key, mid in found}


def _insert_sqlite(engine: Engine, planned: list[_Plan]) -> dict[str, str]:
    """SQLite: take the write lock first (BEGIN IMMEDIATE), so looking up existing keys and then
    inserting the rest cannot race another process; rows go to ``executemany`` as tuples."""
    inserts = _sqlite_inserts(engine.dialect)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            existing = _existing_keys(cursor, [p.email.idempotency_key for p in planned])
            fresh = [p for p in planned if p.email.idempotency_key not in existing]
            if fresh:
                now = sqlite_datetime(utcnow())
                cursor.executemany(inserts.message, [_message_values(p, now) for p in fresh])
                raws = inserts.raw.values(_raw_values(p.mid, p.email) for p in fresh)
                cursor.executemany(inserts.raw.sql, raws)
                recipients = [values for p in fresh for values in _recipients(p)]
                if recipients:
                    cursor.executemany(inserts.recipient, recipients)
                attachments = [_attachment_values(p, i) for p in fresh for i in range(len(p.attachment_shas))]
                if attachments:
                    cursor.executemany(inserts.attachment.sql, inserts.attachment.values(attachments))
            cursor.execute("COMMIT")
        except BaseException:
            raw.rollback()  # a no-op when BEGIN itself failed (database locked)
            raise
        return existing
    finally:
        raw.close()


def _existing_keys(cursor: Any, keys: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        cursor.execute(f"SELECT idempotency_key, id FROM message WHERE idempotency_key IN ({marks})", chunk)
        found.update(dict(cursor.fetchall()))
    return found


@dataclass(frozen=True, slots=True)
class _SqliteInserts:
    message: str
    raw: FastInsert
    attachment: FastInsert
    recipient: str


@functools.cache
def _sqlite_inserts(dialect: Any) -> _SqliteInserts:
    """The four INSERT statements, built once. ``message`` values come from ``_message_values``,
    which converts its JSON and datetime columns itself (exactly as SQLAlchemy would); the other
    two tables' few processors (the payload's ``Binary`` wrapper) still run through ``FastInsert``;
    ``messagerecipient`` holds plain strings."""
    return _SqliteInserts(
        FastInsert(table_of(Message), dialect, MESSAGE_COLUMNS).sql,
        FastInsert(table_of(MessageRaw), dialect, _RAW_COLUMNS),
        FastInsert(table_of(Attachment), dialect, _ATTACHMENT_COLUMNS),
        FastInsert(table_of(MessageRecipient), dialect, RECIPIENT_COLUMNS).sql,
    )


#: ``message`` columns in the order ``_message_values`` fills them (and ``_message_row`` names them).
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


def _message_values(plan: _Plan, updated_at: str | None) -> tuple[Any, ...]:
    """One ``message`` row as SQLite receives it, straight from the email: the same values
    ``FastInsert.rows([_message_row(...)])`` produces (tested), without the intermediate dict,
    address dicts and SQLAlchemy's processor dispatch, which cost more than the INSERT itself."""
    email, sender = plan.email, plan.email.header_from
    return (
        plan.mid,
        email.source,
        email.provider,
        email.provider_event_id,
        email.idempotency_key,
        sqlite_datetime(email.received_at),
        email.envelope_from,
        json_text(email.envelope_to),
        sender.name if sender else None,
        sender.address if sender else None,
        _addresses_json(email.to),
        _addresses_json(email.cc),
        _addresses_json(email.reply_to),
        email.subject,
        email.message_id,
        sqlite_datetime(email.date),
        email.text,
        email.html,
        json_string_pairs(email.headers),
        json_text(email.auth),
        json_text(email.defects),
        _addresses_json(email.bcc) if email.bcc else None,
        json_text(email.spam) if email.spam else None,
        email.stripped_text,
        plan.raw_sha,
        len(email.raw_mime) if email.raw_mime is not None else None,
        MessageStatus.pending.value,
        None,
        0,
        updated_at,
    )


def _addresses_json(addresses: list[Address]) -> str:
    return json_name_address_list([(a.name, a.address) for a in addresses]) if addresses else "[]"


_ATTACHMENT_COLUMNS = (
    "message_id",
    "position",
    "filename",
    "content_type",
    "size",
    "sha256",
    "content_id",
    "disposition",
)


def _attachment_values(plan: _Plan, position: int) -> tuple[Any, ...]:
    attachment = plan.email.attachments[position]
    return (
        plan.mid,
        position,
        attachment.filename,
        attachment.content_type,
        len(attachment.data),
        plan.attachment_shas[position],
        attachment.content_id,
        attachment.disposition,
    )


def _recipients(plan: _Plan) -> list[tuple[str, str, str, str | None]]:
    return recipient_values(plan.mid, plan.email)


def _attachment_row(plan: _Plan, position: int) -> dict[str, Any]:
    return dict(zip(_ATTACHMENT_COLUMNS, _attachment_values(plan, position), strict=True))


def get_message(session: Session, message_id: str) -> Message | None:
    return session.get(Message, message_id)


def get_raw(session: Session, message_id: str) -> MessageRaw | None:
    return session.get(MessageRaw, message_id)


def list_attachments(session: Session, message_id: str) -> list[Attachment]:
    stmt = select(Attachment).where(col(Attachment.message_id) == message_id).order_by(col(Attachment.position))
    return list(session.scalars(stmt))


def pending_message_ids(engine: Engine, *, older_than: timedelta, limit: int = 1000) -> list[str]:
    """Messages stored but never picked up (Redis was down, or the process died after commit)."""
    cutoff: datetime = utcnow() - older_than
    stmt = (
        select(col(Message.id))
        .where(col(Message.status) == MessageStatus.pending.value, col(Message.updated_at) < cutoff)
        .order_by(col(Message.id))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def set_status(engine: Engine, message_id: str, status: MessageStatus, *, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status.value, "error": error, "updated_at": utcnow()}
    if status is MessageStatus.processing:
        values["attempts"] = col(Message.attempts) + 1
    with engine.begin() as conn:
        conn.execute(update(Message).where(col(Message.id) == message_id).values(**values))


def list_messages(engine: Engine, *, status: MessageStatus | None = None, limit: int = 50) -> list[Message]:
    stmt = select(Message).order_by(col(Message.id).desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(col(Message.status) == status.value)
    with Session(engine) as session:
        return list(session.scalars(stmt))
