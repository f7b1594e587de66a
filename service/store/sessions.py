"""Web UI sessions: the ``uisession`` table and its named operations.

Signing in to ``/ui`` with an API token creates a session. The browser holds only a random
session id in an ``HttpOnly`` cookie; the database holds the id's sha256 and the id of the API
token it was opened with, never the token itself. Every request looks the session up together
with its token, so revoking the token (``mailhook tokens revoke``) ends its sessions at once, and
the token's scope (``read`` or ``admin``) is what the session may do.

Each session carries its own CSRF secret, sent back by every state-changing form and request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlmodel import Field, SQLModel

from service.moments import aware
from service.store.models import table_of, utcnow
from service.store.tokens import ApiToken, Scope

#: A session unused this long is over (sign in again).
IDLE_TIMEOUT = timedelta(hours=12)
#: However active, a session ends this long after sign-in.
MAX_AGE = timedelta(days=7)
#: ``last_seen_at`` is refreshed at most this often: a page view is not a database write.
TOUCH_RESOLUTION = timedelta(minutes=1)


class UiSession(SQLModel, table=True):
    id_sha256: str = Field(primary_key=True, max_length=64)
    token_id: int = Field(foreign_key="apitoken.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


_S = table_of(UiSession)
_T = table_of(ApiToken)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a request may know about its session: who (the token's name), what it may do, and
    the CSRF secret its forms must carry."""

    token_id: int
    token_name: str
    scope: str
    csrf: str

    def allows(self, scope: Scope) -> bool:
        """``admin`` includes ``read`` (as for API tokens)."""
        return self.scope == Scope.admin or self.scope == scope


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def create_session(engine: Engine, token: ApiToken) -> str:
    """Open a session for a verified token; returns the session id for the cookie (not stored)."""
    assert token.id is not None
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as conn:
        # Housekeeping on sign-in, which is rare: sessions past their lifetime go.
        conn.execute(delete(_S).where(or_(_S.c.last_seen_at < now - IDLE_TIMEOUT, _S.c.created_at < now - MAX_AGE)))
        conn.execute(
            _S.insert().values(
                id_sha256=_digest(session_id),
                token_id=token.id,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
            )
        )
    return session_id


def find_session(engine: Engine, session_id: str) -> SessionInfo | None:
    """The live session with this id, if its token is still active; refreshes ``last_seen_at``."""
    if not session_id or len(session_id) > 128:
        return None
    wanted = _digest(session_id)
    stmt = (
        select(_S.c.token_id, _S.c.csrf, _S.c.created_at, _S.c.last_seen_at, _T.c.name, _T.c.scope)
        .join(_T, _T.c.id == _S.c.token_id)
        .where(_S.c.id_sha256 == wanted, _T.c.revoked_at.is_(None))
    )
    now = utcnow()
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    token_id, csrf, created_at, last_seen_at, name, scope = row
    if now - aware(last_seen_at) > IDLE_TIMEOUT or now - aware(created_at) > MAX_AGE:
        end_session(engine, session_id)
        return None
    if now - aware(last_seen_at) >= TOUCH_RESOLUTION:
        with engine.begin() as conn:
            conn.execute(update(_S).where(_S.c.id_sha256 == wanted).values(last_seen_at=now))
    return SessionInfo(token_id=token_id, token_name=name, scope=scope, csrf=csrf)


def end_session(engine: Engine, session_id: str) -> None:
    """Sign out: the session row goes; its cookie is worthless from now on."""
    with engine.begin() as conn:
        conn.execute(delete(_S).where(_S.c.id_sha256 == _digest(session_id)))
