"""The inbox: stored messages newest first, searchable, with their code and read state.

Rows are the read API's summaries (``service.api.messages.summaries``: the same code and recipient
as ``GET /api/v1/messages``), read through ``service.store.reads.list_page``. The page's script
keeps it live: on each event from ``/ui/events`` it fetches ``/ui/inbox/rows?after=…`` (the rows
newer than the newest shown, for the same search) and puts them on top.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.api.keyset import page_of
from service.api.messages import summaries
from service.api.params import CURSOR_PATTERN
from service.store.browse import id_back
from service.store.reads import MessageQuery, list_page
from service.store.seen import seen_among
from service.ui.errors import BadRequest
from service.ui.pages import render
from service.ui.search import WINDOW, needs_window, parse, windowed
from service.ui.session import app_state, require_session
from service.web.state import AppState

PAGE_SIZE = 50
_ID = re.compile(CURSOR_PATTERN)


def cursor_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not _ID.fullmatch(value.lower()):
        raise BadRequest(f"{name} is not a message id")
    return value.lower()


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    seen: set[str]
    #: Cursor of the next (older) page of results, if any.
    older: str | None
    #: Where a windowed search stopped looking (continue from there), if it did not reach the start.
    searched_to: str | None


def load_page(state: AppState, query: MessageQuery, *, limit: int | None = None) -> Page:
    """One page of the inbox; a search no index answers looks through one window only."""
    engine = state.ingest.engine
    limit = limit or PAGE_SIZE
    floor = id_back(engine, query.before, WINDOW) if needs_window(query) else None
    bounded = windowed(query, floor)
    rows, last = page_of(list_page(engine, bounded, limit=limit + 1), limit)
    items = summaries(state, rows)
    return Page(
        items=items,
        seen=seen_among(engine, [item["id"] for item in items]),
        older=last.id if last is not None else None,
        searched_to=floor if floor is not None and bounded.after == floor and last is None else None,
    )


async def _searched(request: Request, bound: str) -> tuple[MessageQuery, dict[str, Any]]:
    """The page of the search in ``?q=``, bounded by the cursor in ``?{bound}=`` (``before`` or
    ``after``), and the context every inbox template gets."""
    session = await require_session(request)
    text = (request.query_params.get("q") or "").strip()
    search = parse(text)
    cursor: dict[str, Any] = {bound: cursor_param(request, bound)}
    query = replace(search.query(), **cursor)
    page = await asyncio.to_thread(load_page, app_state(request), query)
    context = {"session": session, "csrf": session.csrf, "page": page, "search": search, "q": text, "window": WINDOW}
    return query, context


async def inbox(request: Request) -> Response:
    query, context = await _searched(request, "before")
    return render(request, "inbox.html", {**context, "nav": "inbox", "before": query.before})


async def rows(request: Request) -> Response:
    """Rows newer than ``after`` for the same search: what the live inbox prepends."""
    _, context = await _searched(request, "after")
    return render(request, "_rows.html", context)
