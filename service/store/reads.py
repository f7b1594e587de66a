"""Named read queries for the read API: filtered, cursor-paginated message lists, the oldest
match after a cursor (what a waiter gets), claiming, and deleting a message with its rows.

Messages are ordered by id: ids are time-ordered (``service.store.ids.new_id``), so "newer than a
cursor" is ``id > cursor`` on the primary key. Recipient and tag filters go through the
``messagerecipient`` indexes (``service.store.recipients``), never through the JSON columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, exists, func, or_, select, update
from sqlmodel import Session

from service.store.bounces import BounceEvent
from service.store.models import Attachment, Message, MessageRaw, PipelineRun, StepRun, table_of, utcnow
from service.store.recipients import MessageRecipient, Recipient

_M = table_of(Message)
_R = table_of(MessageRecipient)
_A = table_of(Attachment)
_RUN = table_of(PipelineRun)
_STEP = table_of(StepRun)
_RAW = table_of(MessageRaw)

_B = table_of(BounceEvent)
#: Which recipient's verdict a bounce mail's overall one is: the worst.
_SEVERITY = {"hard": 0, "complaint": 1, "soft": 2, "delayed": 3}

#: A claimer re-reads candidates at most this many times when other claimers keep winning.
_CLAIM_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What to look for; every field is optional and they combine with AND.

    ``to`` with a tag matches that exact address; without one it is a base address and also
    matches every plus-tag of it. ``after``/``before`` are exclusive id bounds (cursors)."""

    to: Recipient | None = None
    tag: str | None = None
    sender: str | None = None
    subject: str | None = None
    text: str | None = None
    source: str | None = None
    status: str | None = None
    after: str | None = None
    before: str | None = None
    unclaimed: bool = False


def _recipient_ids(query: MessageQuery) -> Any:
    """Ids of messages with a matching recipient: an index range on (base|tag, message_id)."""
    conditions: list[ColumnElement[bool]] = []
    if query.to is not None:
        conditions.append(_R.c.base == query.to.base)
        if query.to.tag is not None:
            conditions.append(_R.c.tag == query.to.tag)
    if query.tag is not None:
        conditions.append(_R.c.tag == query.tag)
    conditions += _id_bounds(_R.c.message_id, query)
    return select(_R.c.message_id).where(*conditions)


def _id_bounds(message_id: ColumnElement[str], query: MessageQuery) -> list[ColumnElement[bool]]:
    """The cursors: ``after`` and ``before`` are exclusive bounds on a message id column."""
    bounds: list[ColumnElement[bool]] = []
    if query.after is not None:
        bounds.append(message_id > query.after)
    if query.before is not None:
        bounds.append(message_id < query.before)
    return bounds


def _conditions(query: MessageQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.to is not None or query.tag is not None:
        found.append(_M.c.id.in_(_recipient_ids(query)))
    if query.sender is not None:
        sender = query.sender.lower()
        found.append(or_(func.lower(_M.c.from_address) == sender, func.lower(_M.c.envelope_from) == sender))
    if query.subject is not None:
        found.append(_M.c.subject.icontains(query.subject, autoescape=True))
    if query.text is not None:
        found.append(_M.c.text.icontains(query.text, autoescape=True))
    if query.source is not None:
        found.append(_M.c.source == query.source)
    if query.status is not None:
        found.append(_M.c.status == query.status)
    found += _id_bounds(_M.c.id, query)
    if query.unclaimed:
        found.append(_M.c.claimed_at.is_(None))
    return found


def _messages(engine: Engine, stmt: Any) -> list[Message]:
    with Session(engine) as session:
        rows = list(session.scalars(stmt))
        session.expunge_all()
    return rows


def list_page(engine: Engine, query: MessageQuery, *, limit: int) -> list[Message]:
    """Matching messages newest first, at most ``limit``; the next page is ``before`` the last id."""
    stmt = select(Message).where(*_conditions(query)).order_by(_M.c.id.desc()).limit(limit)
    return _messages(engine, stmt)


def oldest_ids(engine: Engine, query: MessageQuery, *, limit: int = 1) -> list[str]:
    """Ids of matching messages, oldest first: a waiter walks forward from its cursor, skipping
    nothing. Ids only (Core, no ORM row): most looks of a fresh waiter find nothing."""
    stmt = select(_M.c.id).where(*_conditions(query)).order_by(_M.c.id).limit(limit)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def load_message(engine: Engine, message_id: str) -> Message | None:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        if message is not None:
            session.expunge(message)
    return message


def claim(engine: Engine, message_id: str) -> bool:
    """Mark a message claimed; true for exactly one caller, whatever the number of processes:
    the row is updated only while ``claimed_at`` is still NULL, and the database serialises that."""
    stmt = update(_M).where(_M.c.id == message_id, _M.c.claimed_at.is_(None)).values(claimed_at=utcnow())
    with engine.begin() as conn:
        return bool(conn.execute(stmt).rowcount == 1)


def claim_oldest(engine: Engine, query: MessageQuery) -> str | None:
    """The id of the oldest unclaimed match, claimed for this caller; ``None`` when none is left."""
    unclaimed = replace(query, unclaimed=True)
    for _ in range(_CLAIM_ROUNDS):
        candidates = oldest_ids(engine, unclaimed, limit=8)
        for message_id in candidates:
            if claim(engine, message_id):
                return message_id
        if not candidates:
            return None
    return None


def runs_of(engine: Engine, message_id: str) -> list[tuple[PipelineRun, list[StepRun]]]:
    """A message's pipeline runs (oldest first), each with its steps in order."""
    with Session(engine) as session:
        runs = list(session.scalars(select(PipelineRun).where(_RUN.c.message_id == message_id).order_by(_RUN.c.id)))
        ids = [run.id for run in runs]
        steps = list(session.scalars(select(StepRun).where(_STEP.c.pipeline_run_id.in_(ids)))) if ids else []
        session.expunge_all()
    by_run: dict[int | None, list[StepRun]] = {}
    for step in sorted(steps, key=lambda s: s.position):
        by_run.setdefault(step.pipeline_run_id, []).append(step)
    return [(run, by_run.get(run.id, [])) for run in runs]


def delete_message(engine: Engine, message_id: str) -> list[str] | None:
    """Delete a message and every row that belongs to it, in one transaction; ``None`` when there
    is no such message, else the blob digests it referenced that no remaining row references (the
    caller removes those files after this commit: a failed commit must leave them in place)."""
    with engine.begin() as conn:
        raw_sha = conn.execute(select(_M.c.raw_mime_sha256).where(_M.c.id == message_id)).first()
        if raw_sha is None:
            return None
        shas = {row[0] for row in conn.execute(select(_A.c.sha256).where(_A.c.message_id == message_id))}
        if raw_sha[0]:
            shas.add(raw_sha[0])
        runs = select(_RUN.c.id).where(_RUN.c.message_id == message_id)
        conn.execute(delete(_STEP).where(_STEP.c.pipeline_run_id.in_(runs)))
        for table in (_RUN, _A, _RAW, _R):
            conn.execute(delete(table).where(table.c.message_id == message_id))
        conn.execute(delete(_M).where(_M.c.id == message_id))
        return sorted(sha for sha in shas if not _referenced(conn, sha))


def _referenced(conn: Any, sha: str) -> bool:
    """Whether any message (raw MIME) or attachment still points at this blob."""
    stmt = select(or_(exists().where(_A.c.sha256 == sha), exists().where(_M.c.raw_mime_sha256 == sha)))
    return bool(conn.execute(stmt).scalar())


def bounce_of(engine: Engine, message_id: str) -> dict[str, Any] | None:
    """The bounce report a stored mail carried (``BounceReport.as_dict`` shape: the worst
    recipient's verdict, every bounced recipient), from the events recorded for it; ``None``
    when it was not a bounce."""
    stmt = select(_B).where(_B.c.message_id == message_id).order_by(_B.c.id)
    with engine.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
    if not rows:
        return None
    worst = min(rows, key=lambda row: _SEVERITY.get(row["kind"], len(_SEVERITY)))
    return {
        "kind": worst["kind"],
        "reason": worst["reason"],
        "status": worst["status"],
        "reply_code": worst["reply_code"],
        "recipients": [row["recipient"] for row in rows],
        "diagnostic": worst["diagnostic"],
    }
