"""The suppression list: addresses Mailhook must not forward to, and why.

Entries come from bounces (``service.store.bounce_writes`` applies the policy when it records an
event: a hard bounce or a complaint at once, soft bounces after ``soft_bounce_limit`` within
``soft_bounce_window_days``) or by hand (``mailhook suppressions add``). An entry with
``expires_at`` in the past no longer applies but stays listed until removed or replaced, so
``mailhook suppressions list --all`` still shows why an address was suppressed last month.

Addresses are compared lower-cased whole: local parts are case-sensitive in theory, but no
mailbox provider treats them so, and a suppression that misses ``Ada@`` for ``ada@`` is worse.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, delete, or_, select
from sqlmodel import Field, Session, SQLModel, col

from service.config import SuppressionConfig
from service.moments import aware
from service.store.models import utcnow
from service.store.paging import newest_first

#: ``kind`` of an entry made by hand rather than by a bounce.
MANUAL = "manual"


class Suppression(SQLModel, table=True):
    """One suppressed address (unique, lower-cased) and the bounce or person that put it here."""

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True, max_length=320)
    reason: str = Field(max_length=500)
    #: ``hard``, ``soft``, ``complaint`` (from bounces) or ``manual``.
    kind: str = Field(max_length=16)
    #: The bounce source (hook source or pulled account), or ``cli``/``api`` for manual entries.
    source: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    bounce_event_id: int | None = Field(default=None, foreign_key="bounceevent.id")


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Why an address is skipped, as step outputs and the CLI show it."""

    address: str
    kind: str
    reason: str
    source: str | None
    since: datetime
    expires_at: datetime | None
    #: The row's id (pages of the read API continue after it); not part of step outputs.
    id: int | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "kind": self.kind,
            "reason": self.reason,
            "source": self.source,
            "since": self.since.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def normalise_address(address: str) -> str:
    """How the list keys an address (trimmed, no angle brackets, lower-cased): every lookup and
    every comparison with a lookup's answer goes through it."""
    return address.strip().strip("<>").strip().lower()


def _suppressed(row: Suppression) -> Suppressed:
    return Suppressed(
        row.address,
        row.kind,
        row.reason,
        row.source,
        aware(row.created_at),
        aware(row.expires_at) if row.expires_at else None,
        row.id,
    )


def is_active(row: Suppression, now: datetime) -> bool:
    return row.expires_at is None or aware(row.expires_at) > now


def expiry(config: SuppressionConfig, now: datetime) -> datetime | None:
    return now + timedelta(days=config.expire_after_days) if config.expire_after_days else None


def active_suppressions(engine: Engine, addresses: list[str], *, now: datetime | None = None) -> dict[str, Suppressed]:
    """The entries in force for ``addresses``, keyed by lower-cased address."""
    wanted = sorted({normalise_address(a) for a in addresses if a.strip()})
    if not wanted:
        return {}
    now = now or utcnow()
    stmt = select(Suppression).where(
        col(Suppression.address).in_(wanted),
        or_(col(Suppression.expires_at).is_(None), col(Suppression.expires_at) > now),
    )
    with Session(engine) as session:
        return {row.address: _suppressed(row) for row in session.scalars(stmt)}


def list_suppressions(
    engine: Engine,
    *,
    include_expired: bool = False,
    limit: int = 100,
    address: str | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[Suppressed]:
    """Newest first (by when the entry was made, then id). ``address`` picks one entry;
    ``after`` is the ``(since, id)`` of the last entry of the previous page."""
    stmt = select(Suppression)
    if not include_expired:
        now = utcnow()
        stmt = stmt.where(or_(col(Suppression.expires_at).is_(None), col(Suppression.expires_at) > now))
    if address is not None:
        stmt = stmt.where(col(Suppression.address) == normalise_address(address))
    stmt = newest_first(stmt, col(Suppression.created_at), col(Suppression.id), after=after, limit=limit)
    with Session(engine) as session:
        return [_suppressed(row) for row in session.scalars(stmt)]


def put_suppression(
    session: Session,
    address: str,
    *,
    kind: str,
    reason: str,
    source: str | None,
    now: datetime,
    expires_at: datetime | None = None,
    bounce_event_id: int | None = None,
    replace_active: bool = False,
) -> bool:
    """Insert or refresh the entry for ``address`` in the caller's transaction; True if written.

    An entry still in force is kept as it is (the first reason is the interesting one) unless
    ``replace_active``: a person adding an address by hand means "this, now".
    """
    address = normalise_address(address)
    row = session.scalars(select(Suppression).where(col(Suppression.address) == address)).first()
    if row is not None and is_active(row, now) and not replace_active:
        return False
    row = row or Suppression(address=address, reason=reason, kind=kind)
    row.kind, row.reason, row.source = kind, reason[:500], source
    row.created_at, row.expires_at, row.bounce_event_id = now, expires_at, bounce_event_id
    session.add(row)
    return True


def add_suppression(
    engine: Engine, address: str, *, reason: str, source: str = "cli", expires_at: datetime | None = None
) -> Suppressed:
    """Suppress ``address`` by hand (replacing any entry it has)."""
    now = utcnow()
    with Session(engine) as session:
        put_suppression(
            session,
            address,
            kind=MANUAL,
            reason=reason,
            source=source,
            now=now,
            expires_at=expires_at,
            replace_active=True,
        )
        session.commit()
    return Suppressed(normalise_address(address), MANUAL, reason, source, now, expires_at)


def remove_suppression(engine: Engine, address: str) -> bool:
    """Delete the entry for ``address``; False when there was none."""
    with Session(engine) as session:
        result = session.execute(delete(Suppression).where(col(Suppression.address) == normalise_address(address)))
        session.commit()
    return bool(getattr(result, "rowcount", 0))


class SuppressionList(Protocol):
    """What the forwarding steps need from the suppression list (``WorkerDeps.suppressions``)."""

    async def lookup(self, addresses: list[str]) -> dict[str, Suppressed]:
        """The entries in force for ``addresses``, keyed by ``normalise_address``."""


class StoreSuppressionList:
    """The worker's ``SuppressionList``: lookups against the store, off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def lookup(self, addresses: list[str]) -> dict[str, Suppressed]:
        """The entries in force for ``addresses``, keyed by ``normalise_address``."""
        return await asyncio.to_thread(active_suppressions, self._engine, addresses)
