"""Bounce events: one row per affected recipient, whatever the bounce arrived as; the table,
what a source hands over to record (``BounceEventCreate``), and the reader the API, UI and CLI
list them with. Recording them (and the suppression policy) is ``service.store.bounce_writes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, UniqueConstraint, func, select
from sqlmodel import Field, Session, SQLModel, col

from service.mail.bounce import Kind, Reason
from service.moments import as_utc
from service.store.models import utcnow
from service.store.paging import newest_first


class BounceEvent(SQLModel, table=True):
    """A recipient's delivery failure (field names shared with ``service.mail.bounce``)."""

    __table_args__ = (UniqueConstraint("source", "provider_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320, index=True)
    kind: str = Field(max_length=16)
    reason: str = Field(max_length=32)
    status: str | None = Field(default=None, max_length=32)
    reply_code: int | None = None
    diagnostic: str | None = None
    reporting_mta: str | None = Field(default=None, max_length=255)
    original_message_id: str | None = Field(default=None, max_length=998)
    #: The hook source or pulled account it came from (``provider`` says which kind of thing).
    source: str = Field(max_length=64)
    provider: str = Field(max_length=32)
    provider_event_id: str = Field(max_length=255)
    #: The stored mail, when the bounce arrived as mail. No foreign key: messages can be deleted
    #: (the read API), and the bounce record must outlive the mail it came in.
    message_id: str | None = Field(default=None, max_length=26, index=True)
    #: Ours: the stored message whose forward bounced, when recoverable.
    forwarded_message_id: str | None = Field(default=None, max_length=26, index=True)
    occurred_at: datetime = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: The provider's event as received (secrets stripped), for audit and re-mapping.
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


@dataclass(frozen=True, slots=True)
class BounceEventCreate:
    """What a source hands over to be recorded (``BounceEvent`` minus what the store fills in)."""

    source: str
    provider: str
    provider_event_id: str
    recipient: str
    kind: Kind
    reason: Reason
    occurred_at: datetime
    status: str | None = None
    reply_code: int | None = None
    diagnostic: str | None = None
    reporting_mta: str | None = None
    original_message_id: str | None = None
    message_id: str | None = None
    #: Message-IDs that may name one of our forwards (original Message-ID, Resent-Message-ID).
    forwarded_candidates: tuple[str, ...] = ()
    raw: dict[str, Any] | None = field(default=None, compare=False)


def list_bounces(
    engine: Engine,
    *,
    recipient: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[BounceEvent]:
    """Newest first (by ``occurred_at``, then id); ``recipient`` matches case-insensitively.

    ``since`` is exclusive and ``until`` inclusive (bounds on ``occurred_at``); ``after`` is the
    ``(occurred_at, id)`` of the last row of the previous page, whose next page comes after it."""
    stmt = select(BounceEvent)
    if recipient:
        stmt = stmt.where(func.lower(BounceEvent.recipient) == recipient.strip().lower())
    if kind:
        stmt = stmt.where(col(BounceEvent.kind) == kind)
    if source:
        stmt = stmt.where(col(BounceEvent.source) == source)
    if since is not None:
        stmt = stmt.where(col(BounceEvent.occurred_at) > as_utc(since))
    if until is not None:
        stmt = stmt.where(col(BounceEvent.occurred_at) <= as_utc(until))
    stmt = newest_first(stmt, col(BounceEvent.occurred_at), col(BounceEvent.id), after=after, limit=limit)
    with Session(engine) as session:
        rows = list(session.scalars(stmt))
        for row in rows:
            session.expunge(row)
        return rows
