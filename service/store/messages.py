"""Named database operations for messages (``message``, ``messageraw``, ``attachment``): every
reader and writer of those tables, for ingest, the worker and the CLI. Rows are defined once in
``message_rows``; SQLite's ingest fast path is ``sqlite_insert``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.mail.inbound import InboundAttachment, InboundEmail
from service.mail.storable import scrub
from service.store.blobs import BlobStore
from service.store.ids import new_id
from service.store.message_rows import (
    ATTACHMENT_COLUMNS,
    RAW_COLUMNS,
    NewMessage,
    attachment_rows,
    message_row,
    raw_values,
)
from service.store.models import Attachment, Message, MessageRaw, MessageStatus, table_of, utcnow
from service.store.recipients import RECIPIENT_COLUMNS, MessageRecipient, recipient_values
from service.store.sqlite_insert import insert_sqlite


@dataclass(frozen=True, slots=True)
class StoreResult:
    message_id: str
    duplicate: bool


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
    planned: list[NewMessage] = []
    for email in unique:
        raw_sha = next(digests) if email.raw_mime is not None else None
        attachment_shas = [next(digests) for _ in email.attachments]
        planned.append(NewMessage(first_id[email.idempotency_key], email, raw_sha, attachment_shas))
    writer = insert_sqlite if engine.dialect.name == "sqlite" else _insert_portable
    existing = writer(engine, planned)
    first_id.update(existing)
    return [StoreResult(first_id[e.idempotency_key], e.idempotency_key in existing) for e in emails]


def _blobs_of(email: InboundEmail) -> list[bytes]:
    """The raw MIME (when kept) then each attachment's bytes, in the order ``store_batch`` reads them."""
    head = [email.raw_mime] if email.raw_mime is not None else []
    return head + [attachment.data for attachment in email.attachments]


def _insert_portable(engine: Engine, planned: list[NewMessage]) -> dict[str, str]:
    """Any database: INSERT … ON CONFLICT DO NOTHING RETURNING, safe across processes."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    now = utcnow()
    with engine.begin() as conn:
        stmt = dialect.insert(Message).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(Message.id)
        rows = [message_row(p.mid, p.email, p.raw_sha, now) for p in planned]
        inserted = {row[0] for row in conn.execute(stmt, rows)}
        fresh = [p for p in planned if p.mid in inserted]
        if fresh:
            conn.execute(
                insert(MessageRaw), [dict(zip(RAW_COLUMNS, raw_values(p.mid, p.email), strict=True)) for p in fresh]
            )
        recipients = [
            dict(zip(RECIPIENT_COLUMNS, v, strict=True)) for p in fresh for v in recipient_values(p.mid, p.email)
        ]
        if recipients:
            conn.execute(insert(MessageRecipient), recipients)
        attachments = [dict(zip(ATTACHMENT_COLUMNS, v, strict=True)) for p in fresh for v in p.attachment_values()]
        if attachments:
            conn.execute(insert(Attachment), attachments)
        missing = [p.email.idempotency_key for p in planned if p.mid not in inserted]
        if not missing:
            return {}
        found = conn.execute(
            select(col(Message.idempotency_key), col(Message.id)).where(col(Message.idempotency_key).in_(missing))
        )
        return {key: mid for key, mid in found}


def unsaved_message(message_id: str, email: InboundEmail) -> Message:
    """The row ``store_batch`` would write for ``email``, not saved (``mailhook inspect``)."""
    return Message(**message_row(message_id, email, None, utcnow()))


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


# The worker's statements are built once: constructing and coercing them per call cost as much
# as running them. They run on the connection of the worker's group commit (``TransactionBatcher``).
_MESSAGE = table_of(Message)
_ATTACHMENT = table_of(Attachment)
_SELECT_MESSAGE = select(_MESSAGE).where(_MESSAGE.c.id == bindparam("mid"))
_SELECT_ATTACHMENTS = (
    select(_ATTACHMENT).where(_ATTACHMENT.c.message_id == bindparam("mid")).order_by(_ATTACHMENT.c.position)
)
_MARK_PROCESSING = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("mid"))
    .values(status=MessageStatus.processing.value, attempts=_MESSAGE.c.attempts + 1, updated_at=bindparam("now"))
)
_SET_STATUS = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("mid"))
    .values(status=bindparam("new_status"), error=bindparam("new_error"), updated_at=bindparam("now"))
)


def _update(columns: tuple[str, ...]) -> Any:
    return (
        update(_MESSAGE)
        .where(_MESSAGE.c.id == bindparam("mid"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )


_SAVE_PARSED = _update(("text", "html", "defects", "parsed_at", "bounce"))
_MARK_BOUNCE = _update(("defects", "bounce"))


def load_message(conn: Connection, message_id: str) -> Message | None:
    row = conn.execute(_SELECT_MESSAGE, {"mid": message_id}).mappings().first()
    if row is None:
        return None
    # Rows stored before ingest repaired lone surrogates may hold them in JSON columns (escaped
    # there); every step after this point (Slack, templates, forwarding) encodes text as UTF-8.
    return Message(**{key: scrub(value) for key, value in row.items()})


def load_attachments(conn: Connection, message_id: str) -> list[Attachment]:
    return [Attachment(**row) for row in conn.execute(_SELECT_ATTACHMENTS, {"mid": message_id}).mappings()]


def mark_processing(conn: Connection, message_id: str) -> None:
    """A job picked the message up: one more attempt."""
    conn.execute(_MARK_PROCESSING, {"mid": message_id, "now": utcnow()})


def set_status(conn: Connection, message_id: str, status: MessageStatus, error: str | None = None) -> None:
    conn.execute(_SET_STATUS, {"mid": message_id, "new_status": status.value, "new_error": error, "now": utcnow()})


def put_attachments(
    blobs: BlobStore, message_id: str, attachments: Sequence[InboundAttachment]
) -> list[dict[str, Any]]:
    """Attachment rows for ``save_parsed``, their content written (and fsynced) to the blob store
    first, so the commit that saves them never points at missing content. Blocking."""
    return attachment_rows(message_id, attachments, blobs.put_many([a.data for a in attachments]))


class ParsedFields(TypedDict):
    """What the worker read out of a raw-MIME message, written over the row's ingest values."""

    text: str | None
    html: str | None
    defects: list[str]
    parsed_at: datetime
    bounce: dict[str, Any] | None


def save_parsed(conn: Connection, message_id: str, fields: ParsedFields, attachments: list[dict[str, Any]]) -> None:
    """The parsed fields and the attachment rows ``put_attachments`` made."""
    conn.execute(_SAVE_PARSED, {"mid": message_id, **{f"new_{column}": value for column, value in fields.items()}})
    if attachments:
        conn.execute(insert(_ATTACHMENT), attachments)


def mark_bounce(conn: Connection, message_id: str, *, defects: list[str], bounce: dict[str, Any] | None) -> None:
    """A provider message (no raw MIME) read as a bounce, or that left a defect trying."""
    conn.execute(_MARK_BOUNCE, {"mid": message_id, "new_defects": defects, "new_bounce": bounce})


def list_messages(engine: Engine, *, status: MessageStatus | None = None, limit: int = 50) -> list[Message]:
    stmt = select(Message).order_by(col(Message.id).desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(col(Message.status) == status.value)
    with Session(engine) as session:
        return list(session.scalars(stmt))
