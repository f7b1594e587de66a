"""Keyset pages: rows newest first, read with one row more than a page shows. The extra row says
that another page follows; the last row shown is where it starts.

Messages page by id (``GET /api/v1/messages``, the inbox, dead letters); bounce events and
suppression entries by (time, id), their ``next_cursor`` naming the last row's time and id
(``params.keyset_cursor``) and coming back as ``cursor`` (``Query.keyset``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api.auth import authorize
from service.api.params import Query, keyset_cursor
from service.store.tokens import Scope
from service.web.state import AppState

R = TypeVar("R")


def page_of(rows: Sequence[R], limit: int) -> tuple[list[R], R | None]:
    """The first ``limit`` of ``rows`` (read with ``limit + 1``), and the last of them when more follow."""
    page = list(rows[:limit])
    return page, page[-1] if len(rows) > limit and page else None


async def keyset_page(
    request: Request,
    params: Collection[str],
    filters: Callable[[Query], dict[str, Any]],
    read: Callable[..., Sequence[R]],
    *,
    key: Callable[[R], tuple[datetime, int | None]],
    view: Callable[[R], dict[str, Any]],
) -> Response:
    """A list endpoint: for a read token, the JSON page of ``read(engine, limit=…, after=…,
    **filters(q))``, where ``q`` holds the query parameters ``params`` (``cursor`` and ``limit``
    among them; they are read after the filters, so the first bad parameter is the one named)."""
    await authorize(request, Scope.read)
    q = Query(request.query_params, params)
    found_by = filters(q)
    after = q.keyset("cursor")
    limit = q.integer("limit", default=50, low=1, high=200)
    state: AppState = request.app.state.mailhook
    rows = await asyncio.to_thread(read, state.ingest.engine, limit=limit + 1, after=after, **found_by)
    page, last = page_of(rows, limit)
    next_cursor = keyset_cursor(*key(last)) if last is not None else None
    return JSONResponse({"items": [view(row) for row in page], "next_cursor": next_cursor})
