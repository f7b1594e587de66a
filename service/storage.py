"""Named database operations for messages; route handlers and jobs never build queries inline."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.blobs import BlobStore
from service.fastinsert import FastInsert
from service.inbound import InboundEmail, new_id
from service.models import Attachment, Message, MessageRaw, MessageStatus, utcnow


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
    planned: list[tuple[str, InboundEmail]] = []
    for email in emails:
        if email.idempotency_key not in first_id:
            first_id[email.idempotency_key] = new_id()
            planned.append((first_id[email.idempotency_key], email))
    raw_sha = {mid: blobs.put(e.raw_mime) if e.raw_mime is not None else None for mid, e in planned}
    for _, email in planned:
        for attachment in email.attachments:
            blobs.put(attachment.data)
    writer = _insert_sqlite if engine.dialect.name == "sqlite" else _insert_portable
    existing = writer(engine, [(mid, e, raw_sha[mid]) for mid, e in planned])
    first_id.update(existing)
    return [StoreResult(first_id[e.idempotency_key], e.idempotency_key in existing) for e in emails]


_Planned = list[tuple[str, InboundEmail, str | None]]


_COMPRESS_FROM_BYTES = 1024


def _raw_row(mid: str, email: InboundEmail) -> dict[str, Any]:
    payload, encoding = email.raw_payload, "identity"
    if len(payload) >= _COMPRESS_FROM_BYTES:
        # Level 1: most of the size win for a fraction of the CPU of the default level.
        packed = zlib.compress(payload, 1)
        if len(packed) < len(payload):
            payload, encoding = packed, "zlib"
    return {"message_id": mid, "content_type": email.raw_content_type, "encoding": encoding, "payload": payload}


def _insert_portable(engine: Engine, planned: _Planned) -> dict[str, str]:
    """Any database: INSERT … ON CONFLICT DO NOTHING RETURNING, safe across processes."""
    with engine.begin() as conn:
        stmt = _insert_ignoring_duplicates(engine).returning(Message.id)
        inserted = {row[0] for row in conn.execute(stmt, [_message_row(m, e, sha) for m, e, sha in planned])}
        fresh = [(mid, e) for mid, e, _ in planned if mid in inserted]
        if fresh:
            conn.execute(insert(MessageRaw), [_raw_row(mid, e) for mid, e in fresh])
        attachment_rows = [_attachment_row(mid, i, a) for mid, e in fresh for i, a in enumerate(e.attachments)]
        if attachment_rows:
            conn.execute(insert(Attachment), attachment_rows)
        missing = [e.idempotency_key for mid, e, _ in planned if mid not in inserted]
        if not missing:
            return {}
        found = conn.execute(
            select(Message.idempotency_key, Message.id).where(Message.idempotency_key.in_(missing))  # type: ignore[attr-defined]
        )
        return {key: mid for key, mid in found}


def _insert_sqlite(engine: Engine, planned: _Planned) -> dict[str, str]:
    """SQLite: take the write lock first (BEGIN IMMEDIATE), so looking up existing keys and then
    inserting the rest cannot race another process; rows go in through ``FastInsert``."""
    dialect = engine.dialect
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            existing = _existing_keys(cursor, [e.idempotency_key for _, e, _ in planned])
            fresh = [(mid, e, sha) for mid, e, sha in planned if e.idempotency_key not in existing]
            if fresh:
                messages = [_message_row(mid, e, sha) for mid, e, sha in fresh]
                _executemany(cursor, Message, dialect, messages)
                _executemany(cursor, MessageRaw, dialect, [_raw_row(mid, e) for mid, e, _ in fresh])
                attachments = [_attachment_row(mid, i, a) for mid, e, _ in fresh for i, a in enumerate(e.attachments)]
                _executemany(cursor, Attachment, dialect, attachments)
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


_FAST_INSERTS: dict[tuple[str, tuple[str, ...]], FastInsert] = {}


def _executemany(cursor: Any, model: Any, dialect: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = tuple(rows[0])
    key = (model.__tablename__, columns)
    inserter = _FAST_INSERTS.get(key)
    if inserter is None:
        inserter = _FAST_INSERTS[key] = FastInsert(model.__table__, dialect, columns)
    cursor.executemany(inserter.sql, inserter.rows(rows))


def _attachment_row(message_id: str, position: int, attachment: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "position": position,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": len(attachment.data),
        "sha256": attachment.sha256,
        "content_id": attachment.content_id,
        "disposition": attachment.disposition,
    }


def get_message(session: Session, message_id: str) -> Message | None:
    return session.get(Message, message_id)


def get_raw(session: Session, message_id: str) -> MessageRaw | None:
    return session.get(MessageRaw, message_id)


def list_attachments(session: Session, message_id: str) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.message_id == message_id).order_by(Attachment.position)  # type: ignore[arg-type]
    return list(session.scalars(stmt))


def pending_message_ids(engine: Engine, *, older_than: timedelta, limit: int = 1000) -> list[str]:
    """Messages stored but never picked up (Redis was down, or the process died after commit)."""
    cutoff: datetime = utcnow() - older_than
    stmt = (
        select(Message.id)
        .where(Message.status == MessageStatus.pending.value, Message.updated_at < cutoff)  # type: ignore[arg-type]
        .order_by(Message.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def set_status(engine: Engine, message_id: str, status: MessageStatus, *, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status.value, "error": error, "updated_at": utcnow()}
    if status is MessageStatus.processing:
        values["attempts"] = Message.attempts + 1
    with engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == message_id).values(**values))  # type: ignore[arg-type]


def list_messages(engine: Engine, *, status: MessageStatus | None = None, limit: int = 50) -> list[Message]:
    stmt = select(Message).order_by(Message.id.desc()).limit(limit)  # type: ignore[attr-defined]
    if status is not None:
        stmt = stmt.where(Message.status == status.value)  # type: ignore[arg-type]
    with Session(engine) as session:
        return list(session.scalars(stmt))
