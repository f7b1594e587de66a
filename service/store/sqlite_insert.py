"""SQLite's ingest fast path for ``store_batch``: the rows of ``message_rows`` as tuples, straight
to the driver's ``executemany``.

The write lock is taken first (``BEGIN IMMEDIATE``), so looking up existing keys and then
inserting the rest cannot race another process; SQLite has no ``INSERT … RETURNING`` that
reports skipped duplicates in one go, and this way needs none.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Engine

from service.store.fastinsert import FastInsert, sqlite_datetime
from service.store.message_rows import (
    ATTACHMENT_COLUMNS,
    MESSAGE_COLUMNS,
    RAW_COLUMNS,
    SQLITE,
    NewMessage,
    message_values,
    raw_values,
)
from service.store.models import Attachment, Message, MessageRaw, table_of, utcnow
from service.store.recipients import RECIPIENT_COLUMNS, MessageRecipient, recipient_values


def insert_sqlite(engine: Engine, planned: list[NewMessage]) -> dict[str, str]:
    """Insert the new ones of ``planned``; returns {idempotency key: id} of those already stored."""
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
                cursor.executemany(
                    inserts.message, [message_values(p.mid, p.email, p.raw_sha, now, SQLITE) for p in fresh]
                )
                cursor.executemany(inserts.raw.sql, inserts.raw.values(raw_values(p.mid, p.email) for p in fresh))
                recipients = [values for p in fresh for values in recipient_values(p.mid, p.email)]
                if recipients:
                    cursor.executemany(inserts.recipient, recipients)
                attachments = [values for p in fresh for values in p.attachment_values()]
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
def _sqlite_inserts(dialect: Dialect) -> _SqliteInserts:
    """The four INSERT statements, built once. ``message`` values arrive encoded (``SQLITE``);
    ``messageraw`` and ``attachment``'s few processors (the payload's ``Binary`` wrapper) run
    through ``FastInsert``; ``messagerecipient`` holds plain strings."""
    return _SqliteInserts(
        FastInsert(table_of(Message), dialect, MESSAGE_COLUMNS).sql,
        FastInsert(table_of(MessageRaw), dialect, RAW_COLUMNS),
        FastInsert(table_of(Attachment), dialect, ATTACHMENT_COLUMNS),
        FastInsert(table_of(MessageRecipient), dialect, RECIPIENT_COLUMNS).sql,
    )
