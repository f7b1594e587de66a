"""``GET /api/v1/messages`` (filtered, newest first, cursor pages) and ``GET /api/v1/messages/{id}``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import spec, views
from service.api.auth import authorize
from service.api.keyset import page_of
from service.api.params import CURSOR_PATTERN, Query
from service.errors import NotFound
from service.store.models import Message, MessageStatus
from service.store.parts import message_with_attachments
from service.store.reads import MessageQuery, bounce_of, list_page, runs_of
from service.store.tokens import Scope
from service.web.state import AppState

_ID = re.compile(CURSOR_PATTERN)
_STATUSES = [s.value for s in MessageStatus]
_LIST_PARAMS = ("to", "from", "subject", "text", "tag", "source", "status", "since", "until", "cursor", "limit")
T = TypeVar("T")


def message_id(request: Request) -> str:
    """The ``{id}`` path parameter; anything that cannot be an id is simply not found."""
    value = str(request.path_params["id"]).lower()
    if not _ID.fullmatch(value):
        raise NotFound(f"no message with id {value[:40]!r}")
    return value


async def message_answer(request: Request, read: Callable[[AppState, str], T | None]) -> T:
    """``read(state, id)`` for the ``{id}`` in the path, asked with a read token and no query
    parameters; ``None`` from ``read`` is 404."""
    await authorize(request, Scope.read)
    Query(request.query_params, ())
    mid = message_id(request)
    state: AppState = request.app.state.mailhook
    found = await asyncio.to_thread(read, state, mid)
    if found is None:
        raise NotFound(f"no message with id {mid}")
    return found


def _query(q: Query) -> MessageQuery:
    sender = q.address("from")
    tag = q.text("tag")
    until, cursor = q.moment("until", end=True), q.cursor("cursor")
    bounds = [b for b in (until, cursor) if b is not None]
    return MessageQuery(
        to=q.address("to"),
        tag=tag.lower() if tag is not None else None,
        sender=sender.address if sender else None,
        subject=q.text("subject"),
        text=q.text("text"),
        source=q.text("source"),
        status=q.choice("status", _STATUSES),
        after=q.moment("since"),
        before=min(bounds) if bounds else None,
    )


def summaries(state: AppState, rows: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as the API lists them (``views.summary``: with their code and recipient)."""
    return [views.summary(row, state.content.extracted(row)) for row in rows]


def _page(state: AppState, query: MessageQuery, limit: int) -> dict[str, Any]:
    rows, last = page_of(list_page(state.ingest.engine, query, limit=limit + 1), limit)
    return {"items": summaries(state, rows), "next_cursor": last.id if last is not None else None}


@spec.documented(
    {
        "summary": "List stored messages, newest first",
        "description": "Filters combine with AND. `to` is an exact address, or a base address (`signup@x`) "
        "that also matches every plus-tag (`signup+anything@x`); addresses compare case-insensitively. "
        "Pass `next_cursor` back as `cursor` for the next page.",
        "security": spec.SECURITY,
        "parameters": [
            spec.query("to", "Recipient: exact address, or base address including its plus-tags", spec.ADDRESS),
            spec.query("from", "Sender (header From or envelope sender), exact address", spec.ADDRESS),
            spec.query("subject", "Subject contains (case-insensitive)", {"type": "string", "maxLength": 1000}),
            spec.query("text", "Text body contains (case-insensitive)", {"type": "string", "maxLength": 1000}),
            spec.query("tag", "Plus-tag of a recipient (`run1` in `signup+run1@x`)", {"type": "string"}),
            spec.query("source", "Configured source name"),
            spec.query("status", "Processing status", {"type": "string", "enum": _STATUSES}),
            spec.query("since", "Stored after this cursor or time", spec.MOMENT),
            spec.query("until", "Stored before this cursor or at/before this time", spec.MOMENT),
            *spec.paging({"type": "string", "pattern": CURSOR_PATTERN}),
        ],
        "responses": spec.responses({"200": spec.JSON("Page", "A page of message summaries")}, found=False),
    }
)
async def list_messages(request: Request) -> Response:
    await authorize(request, Scope.read)
    q = Query(request.query_params, _LIST_PARAMS)
    query, limit = _query(q), q.integer("limit", default=50, low=1, high=200)
    state: AppState = request.app.state.mailhook
    return JSONResponse(await asyncio.to_thread(_page, state, query, limit))


def message_detail(state: AppState, mid: str) -> dict[str, Any] | None:
    """``GET /api/v1/messages/{id}``'s answer (and the UI's message page), ``None`` if there is no such message."""
    engine = state.ingest.engine
    found = message_with_attachments(engine, mid)
    if found is None:
        return None
    message, attachments = found
    body = state.content.body(message)
    extracted = state.content.extracted(message, body)
    return views.detail(message, body, extracted, attachments, runs_of(engine, mid), bounce_of(engine, mid))


@spec.documented(
    {
        "summary": "One message: fields, bodies, headers, attachments, code, links and pipeline runs",
        "security": spec.SECURITY,
        "parameters": [spec.ID_PARAMETER],
        "responses": spec.responses({"200": spec.JSON("Detail", "The message")}),
    }
)
async def get_one(request: Request) -> Response:
    return JSONResponse(await message_answer(request, message_detail))
