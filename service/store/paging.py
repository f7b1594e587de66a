"""Keyset paging newest first, for tables listed by a moment and then an id (bounce events by
``occurred_at``, suppressions by ``created_at``): a page ends at its last row's ``(moment, id)``
and the next page starts strictly after it, however many rows share that moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Mapped

from service.moments import as_utc

S = TypeVar("S", bound=Select[Any])


def newest_first(
    stmt: S,
    moment: Mapped[datetime],
    row_id: Mapped[int | None],
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> S:
    """``stmt`` ordered by ``moment`` then ``row_id``, newest first, at most ``limit`` rows, and
    (``after``, the previous page's last row) only the rows that come after that one."""
    stmt = stmt.order_by(moment.desc(), row_id.desc()).limit(limit)
    if after is None:
        return stmt
    last_moment, last_id = as_utc(after[0]), after[1]
    return stmt.where(or_(moment < last_moment, and_(moment == last_moment, row_id < last_id)))
