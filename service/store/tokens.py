"""API bearer tokens: the ``apitoken`` table and its named operations.

Only the sha256 of a token is stored. A presented token is looked up by its sha256 (an indexed
equality, so the lookup time does not depend on how much of the token is right) and the stored
digest is then compared with ``hmac.compare_digest``. The token text itself exists only in the
``mailhook tokens create`` output and in the caller's hands.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Engine, or_, select, update
from sqlmodel import Field, Session, SQLModel, col

from service.moments import aware
from service.store.models import utcnow

PREFIX = "mh_"
#: ``mh_`` + ``secrets.token_urlsafe(32)`` (43 characters of the URL-safe alphabet).
TOKEN_SHAPE = re.compile(r"mh_[A-Za-z0-9_-]{43}")
#: ``last_used_at`` is a hint for operators, not an audit log: written at most this often per
#: token, so API traffic does not turn into a write per request on the ingest database.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Scope(StrEnum):
    read = "read"
    admin = "admin"


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    scope: str = Field(max_length=16)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, scope: Scope) -> bool:
        """``admin`` includes ``read``."""
        return self.scope == Scope.admin or self.scope == scope


class TokenNameTaken(ValueError):
    """An active token already has this name (revoke it first)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(engine: Engine, *, name: str, scope: Scope) -> tuple[str, ApiToken]:
    """A new token: its text (shown once, never stored) and its row."""
    token = PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session:
        active = session.scalars(
            select(ApiToken).where(col(ApiToken.name) == name, col(ApiToken.revoked_at).is_(None))
        ).first()
        if active is not None:
            raise TokenNameTaken(f"an active token is already named {name!r}")
        row = ApiToken(name=name, scope=scope.value, token_sha256=digest(token))
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return token, row


def list_tokens(engine: Engine) -> list[ApiToken]:
    with Session(engine) as session:
        rows = list(session.scalars(select(ApiToken).order_by(col(ApiToken.id))))
        session.expunge_all()
    return rows


def revoke_token(engine: Engine, name_or_id: str) -> int:
    """Revoke the active token(s) with this name, or else the one with this id; how many."""
    condition: ColumnElement[bool] = col(ApiToken.name) == name_or_id
    if name_or_id.isdigit():
        condition = or_(condition, col(ApiToken.id) == int(name_or_id))
    stmt = update(ApiToken).where(condition, col(ApiToken.revoked_at).is_(None)).values(revoked_at=utcnow())
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount


def verify_token(engine: Engine, presented: str) -> ApiToken | None:
    """The active token ``presented`` is, or ``None``; refreshes ``last_used_at`` now and then."""
    if not TOKEN_SHAPE.fullmatch(presented):
        return None
    wanted = digest(presented)
    with Session(engine, expire_on_commit=False) as session:
        row = session.scalars(select(ApiToken).where(col(ApiToken.token_sha256) == wanted)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, wanted):
            return None
        now = utcnow()
        last = row.last_used_at
        if last is None or now - aware(last) >= LAST_USED_RESOLUTION:
            session.execute(update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now))
            session.commit()
            row.last_used_at = now
        session.expunge(row)
    return row
