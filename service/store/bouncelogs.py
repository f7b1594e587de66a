"""Where each pulled provider log (``bounce_logs:`` accounts) stands: cursor, schedule, backoff.

One row per account name. ``cursor`` is the provider-specific position the next pull starts
from (the newest entry time seen); ``next_run_at`` is when the account is due again, pushed out
by errors (backoff, a 429's ``Retry-After``); ``halted_key`` remembers which API key a provider
refused (401/403), so the puller stops calling with it until the key in the config changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from service.moments import aware
from service.store.models import utcnow


class BounceLogCursor(SQLModel, table=True):
    account: str = Field(primary_key=True, max_length=64)
    cursor: str | None = Field(default=None, max_length=255)
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    next_run_at: datetime | None = None
    failures: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    #: Fingerprint of the API key the provider refused; pulls resume when the key changes.
    halted_key: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True, slots=True)
class CursorState:
    account: str
    cursor: str | None
    next_run_at: datetime | None
    failures: int
    halted_key: str | None
    last_error: str | None


def load_cursor(engine: Engine, account: str) -> CursorState:
    with Session(engine) as session:
        row = session.get(BounceLogCursor, account)
    if row is None:
        return CursorState(account, None, None, 0, None, None)
    next_run_at = aware(row.next_run_at) if row.next_run_at else None
    return CursorState(account, row.cursor, next_run_at, row.failures, row.halted_key, row.last_error)


def _update(engine: Engine, account: str, **values: object) -> None:
    with Session(engine) as session:
        row = session.get(BounceLogCursor, account) or BounceLogCursor(account=account)
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def save_success(engine: Engine, account: str, *, cursor: str | None, next_run_at: datetime) -> None:
    now = utcnow()
    _update(
        engine,
        account,
        cursor=cursor,
        last_run_at=now,
        last_success_at=now,
        next_run_at=next_run_at,
        failures=0,
        last_error=None,
        halted_key=None,
    )


def save_failure(
    engine: Engine, account: str, *, error: str, next_run_at: datetime | None, failures: int, halted_key: str | None
) -> None:
    """Record a failed pull; the cursor is left where the last success put it."""
    _update(
        engine,
        account,
        last_run_at=utcnow(),
        next_run_at=next_run_at,
        failures=failures,
        last_error=error[:500],
        halted_key=halted_key,
    )


def list_cursors(engine: Engine) -> list[BounceLogCursor]:
    with Session(engine) as session:
        rows = list(session.scalars(select(BounceLogCursor).order_by(col(BounceLogCursor.account))))
        for row in rows:
            session.expunge(row)
        return rows
