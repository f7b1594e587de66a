"""Operations pages: dead-lettered messages (replay one or all), the configured sources with
their webhook URLs, and the status page (queue depth, oldest pending message, worker heartbeat).

A dead letter is a message whose pipeline run failed for good (``status = failed``); replaying
it starts a new run (``service.handoff.replay``, as ``mailhook replay`` and the API do).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from service.api.keyset import page_of
from service.api.messages import summaries
from service.config import SourceConfig
from service.handoff.queue import HEALTH_CHECK_INTERVAL_S, health_check_key
from service.moments import aware
from service.store.browse import Latest, latest_of_source, oldest_pending
from service.store.models import MessageStatus
from service.store.reads import MessageQuery, list_page, runs_of
from service.store.tokens import Scope
from service.ui.errors import PageNotFound
from service.ui.inbox import cursor_param
from service.ui.message import replay_message
from service.ui.pages import PAGE_HEADERS, render
from service.ui.session import app_state, checked_form, origin_of, require_session
from service.web.state import AppState

DEAD_PAGE = 50
#: "Replay all" replays at most this many per click (the page says when more remain).
REPLAY_ALL_MAX = 500
_FAILED = MessageQuery(status=MessageStatus.failed.value)


def _dead_letters(state: AppState, before: str | None) -> tuple[list[dict[str, Any]], str | None]:
    engine = state.ingest.engine
    query = MessageQuery(status=MessageStatus.failed.value, before=before)
    rows, last = page_of(list_page(engine, query, limit=DEAD_PAGE + 1), DEAD_PAGE)
    items = summaries(state, rows)
    for item in items:
        failed = [run for run, _ in runs_of(engine, item["id"]) if run.status == "failed"]
        item["failed_run"] = failed[-1] if failed else None
    return items, last.id if last is not None else None


async def dead_letters(request: Request) -> Response:
    session = await require_session(request)
    items, older = await asyncio.to_thread(_dead_letters, app_state(request), cursor_param(request, "before"))
    context = {
        "session": session,
        "csrf": session.csrf,
        "nav": "dead",
        "items": items,
        "older": older,
        "admin": session.allows(Scope.admin),
        "notice": request.query_params.get("notice"),
    }
    return render(request, "dead_letters.html", context)


async def replay_all(request: Request) -> Response:
    session = await require_session(request, Scope.admin)
    await checked_form(request, session)
    state = app_state(request)
    ids = [m.id for m in await asyncio.to_thread(list_page, state.ingest.engine, _FAILED, limit=REPLAY_ALL_MAX)]
    for mid in ids:
        await replay_message(state, mid)
    return RedirectResponse(f"/ui/dead-letters?notice=replayed-{len(ids)}", 303, headers=PAGE_HEADERS)


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    provider: str
    masked_url: str
    latest: Latest | None


def _hook_path(source: SourceConfig, secret: str) -> str:
    return f"/hooks/{source.name}/{secret}"


def _sources(state: AppState, origin: str) -> list[SourceRow]:
    return [
        SourceRow(s.name, s.provider, origin + _hook_path(s, "•" * 8), latest_of_source(state.ingest.engine, s.name))
        for s in state.config.current.sources
    ]


async def sources(request: Request) -> Response:
    session = await require_session(request)
    rows = await asyncio.to_thread(_sources, app_state(request), origin_of(request))
    context = {"session": session, "csrf": session.csrf, "nav": "sources", "sources": rows}
    context["admin"] = session.allows(Scope.admin)
    return render(request, "sources.html", context)


async def webhook_url(request: Request) -> Response:
    """The full webhook URL of a source, secret included: only on an admin's explicit request
    (the copy button's POST, CSRF-checked), never rendered into a page."""
    session = await require_session(request, Scope.admin)
    await checked_form(request, session)
    source = app_state(request).config.current.source(str(request.path_params["name"]))
    if source is None:
        raise PageNotFound("no such source")
    # The first secret listed, as ``mailhook dev`` prints it (any listed secret is accepted).
    secret = source.secrets[0].get_secret_value()
    return JSONResponse({"url": origin_of(request) + _hook_path(source, secret)}, headers=PAGE_HEADERS)


def age(moment: datetime) -> str:
    """How long ago, roughly: ``42 s``, ``7 min``, ``3 h``, ``2 d``."""
    seconds = max(0.0, (datetime.now(UTC) - aware(moment)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The newest worker health record arq wrote, and how long ago (``None``: no live worker)."""

    info: str | None
    age_s: float | None


async def _heartbeat(state: AppState) -> Heartbeat:
    key = health_check_key(state.settings.queue_name)
    redis = state.ingest.redis
    info, ttl_ms = await asyncio.gather(redis.get(key), redis.pttl(key))
    if info is None or ttl_ms is None or ttl_ms < 0:
        return Heartbeat(None, None)
    # arq sets the key to live one second past the next write.
    age = max(0.0, (HEALTH_CHECK_INTERVAL_S + 1) - ttl_ms / 1000)
    return Heartbeat(info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info), age)


async def status(request: Request) -> Response:
    session = await require_session(request)
    state = app_state(request)
    errors: list[str] = []
    depth: int | None = None
    heartbeat = Heartbeat(None, None)
    try:
        depth = int(await state.ingest.redis.zcard(state.settings.queue_name))
        heartbeat = await _heartbeat(state)
    except Exception as exc:  # Redis down is what this page must show, not fail on
        errors.append(f"Redis: {type(exc).__name__}")
    pending = await asyncio.to_thread(oldest_pending, state.ingest.engine)
    context = {
        "session": session,
        "csrf": session.csrf,
        "nav": "status",
        "depth": depth,
        "queue_name": state.settings.queue_name,
        "pending": pending,
        "pending_age": age(pending.received_at) if pending else None,
        "heartbeat": heartbeat,
        "interval": HEALTH_CHECK_INTERVAL_S,
        "errors": errors,
    }
    return render(request, "status.html", context)
