"""Read/unread state of messages for the web inbox: the ``messageseen`` table.

State is per message, as in Mailpit: a shared QA inbox, where "someone opened it" is what the
team wants to see. A row means "opened"; no row means unread. There is deliberately no foreign
key to ``message``: deleting a message (``service.store.reads.delete_message``) need not know
about this table, and a leftover row for a deleted id is harmless (ids are never reused).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, Insert, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from service.store.models import table_of, utcnow


class MessageSeen(SQLModel, table=True):
    message_id: str = Field(primary_key=True, max_length=26)
    seen_at: datetime = Field(default_factory=utcnow)


_T = table_of(MessageSeen)


def _insert_ignoring_duplicates(engine: Engine) -> Insert:
    name = engine.dialect.name
    if name == "sqlite":
        return sqlite_insert(_T).on_conflict_do_nothing()
    if name == "postgresql":
        return pg_insert(_T).on_conflict_do_nothing()
    return insert(_T)


def mark_seen(engine: Engine, message_ids: Iterable[str]) -> None:
    rows = [{"message_id": mid, "seen_at": utcnow()} for mid in dict.fromkeys(message_ids)]
    if rows:
        with engine.begin() as conn:
            conn.execute(_insert_ignoring_duplicates(engine), rows)


def mark_unseen(engine: Engine, message_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.message_id == message_id))


def seen_among(engine: Engine, message_ids: Iterable[str]) -> set[str]:
    """Which of these messages were opened (one primary-key lookup per id of the page)."""
    ids = list(message_ids)
    if not ids:
        return set()
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(select(_T.c.message_id).where(_T.c.message_id.in_(ids)))}
