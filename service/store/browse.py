"""Read queries the web inbox needs beyond the read API's (``service.store.reads``): the newest
id (the live stream), the id n messages back (search windows), the oldest pending message and
each source's latest message (the status and sources pages).

Every query here is answered from an index: the primary key (``message.id``, time-ordered) or
the ``source``/``status`` indexes. ``EXPLAIN QUERY PLAN`` output for each is in ``bench/ui_inbox.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from service.store.models import Message, MessageStatus, table_of

_M = table_of(Message)


@dataclass(frozen=True, slots=True)
class Latest:
    """A message's id, arrival time and processing status."""

    id: str
    received_at: datetime
    status: str


def newest_id(engine: Engine) -> str | None:
    """The newest stored message's id (the last entry of the primary-key index)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(_M.c.id))).scalar()


def id_back(engine: Engine, before: str | None, count: int) -> str | None:
    """The id ``count`` messages older than ``before`` (or than the newest), or ``None`` when
    fewer are stored: the floor of a bounded search window. An index-only walk of the primary key."""
    stmt = select(_M.c.id).order_by(_M.c.id.desc()).offset(count).limit(1)
    if before is not None:
        stmt = stmt.where(_M.c.id < before)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


def oldest_pending(engine: Engine) -> Latest | None:
    """The oldest message still waiting for a worker (via the ``status`` index)."""
    oldest = select(func.min(_M.c.id)).where(_M.c.status == MessageStatus.pending.value).scalar_subquery()
    stmt = select(_M.c.id, _M.c.received_at, _M.c.status).where(_M.c.id == oldest)
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return Latest(row[0], row[1], row[2]) if row else None


def latest_of_source(engine: Engine, source: str) -> Latest | None:
    """The newest message from one source (via the ``source`` index)."""
    newest = select(func.max(_M.c.id)).where(_M.c.source == source).scalar_subquery()
    stmt = select(_M.c.id, _M.c.received_at, _M.c.status).where(_M.c.id == newest)
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return Latest(row[0], row[1], row[2]) if row else None
