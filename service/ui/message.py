"""One message: its HTML (in a sandboxed frame), text, headers, source, links, attachments,
authentication results and pipeline runs; replaying or deleting it (admin), marking it unread.

The data is the read API's detail (``service.api.messages.message_detail``: the same code, links,
attachments and runs as ``GET /api/v1/messages/{id}``). Replay is ``POST /api/v1/messages/{id}/replay``'s
own ``replay_stored`` (the same ``prepare_replay``/``enqueue_replay`` as the CLI), and delete
``DELETE /api/v1/messages/{id}``'s ``delete_stored`` (rows, then unshared blobs).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.api.admin import delete_stored, replay_stored
from service.api.messages import message_detail
from service.errors import NotFound, StorageUnavailable
from service.store.seen import mark_seen, mark_unseen
from service.store.tokens import Scope
from service.ui.body import load_message, message_id, source_preview
from service.ui.errors import PageNotFound, UiError
from service.ui.pages import PAGE_HEADERS, render
from service.ui.session import app_state, checked_form, require_session
from service.web.state import AppState

#: The message page's tabs: ``?view=`` key and label.
VIEWS = {
    "html": "HTML",
    "text": "Text",
    "headers": "Headers",
    "source": "Source",
    "links": "Links",
    "attachments": "Attachments",
    "runs": "Runs",
}
#: Keys of the stored ``auth`` results shown as badges, in this order.
AUTH_KEYS = ("spf", "dkim", "dmarc")


class QueueUnavailable(UiError, status_code=503, title="Queue unavailable"):
    """The job queue (Redis) did not take a replay; the message is pending again."""


def _auth(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """SPF/DKIM/DMARC verdicts from the stored ``auth`` (what the provider or our SMTP reported)."""
    auth = detail.get("auth") or {}
    found = [(key, str(auth[key])) for key in AUTH_KEYS if auth.get(key) not in (None, "")]
    others = [(str(k), str(v)) for k, v in auth.items() if k not in AUTH_KEYS and isinstance(v, str | int | bool)]
    return found + others


async def message_page(request: Request) -> Response:
    session = await require_session(request)
    state = app_state(request)
    mid = message_id(request)
    detail = await asyncio.to_thread(message_detail, state, mid)
    if detail is None:
        raise PageNotFound(f"no message with id {mid}")
    view = request.query_params.get("view") or ("html" if detail["html"] else "text")
    if view not in VIEWS:
        view = "text"
    source, truncated = ("", False)
    if view == "source":
        source, truncated = await asyncio.to_thread(source_preview, state, load_message(state, mid))
    await asyncio.to_thread(mark_seen, state.ingest.engine, [mid])
    context = {
        "session": session,
        "csrf": session.csrf,
        "nav": "inbox",
        "m": detail,
        "view": view,
        "views": VIEWS,
        "auth": _auth(detail),
        "remote": request.query_params.get("remote") == "1",
        "source": source,
        "truncated": truncated,
        "notice": request.query_params.get("notice"),
        "admin": session.allows(Scope.admin),
    }
    return render(request, "message.html", context)


async def replay_message(state: AppState, mid: str) -> None:
    """The API's replay (a new run), its errors as pages."""
    try:
        await replay_stored(state, mid, resume=False, then="it will be retried")
    except NotFound as exc:
        raise PageNotFound(exc.message) from None
    except StorageUnavailable as exc:
        raise QueueUnavailable(exc.message) from None


async def replay(request: Request) -> Response:
    session = await require_session(request, Scope.admin)
    await checked_form(request, session)
    mid = message_id(request)
    await replay_message(app_state(request), mid)
    return RedirectResponse(f"/ui/messages/{mid}?view=runs&notice=replayed", 303, headers=PAGE_HEADERS)


async def delete(request: Request) -> Response:
    """Delete the message with its runs, attachments and unshared blobs (the API's own delete)."""
    session = await require_session(request, Scope.admin)
    await checked_form(request, session)
    mid = message_id(request)
    if not await asyncio.to_thread(delete_stored, app_state(request), mid):
        raise PageNotFound(f"no message with id {mid}")
    return RedirectResponse("/ui", 303, headers=PAGE_HEADERS)


async def mark_unread(request: Request) -> Response:
    session = await require_session(request)
    await checked_form(request, session)
    mid = message_id(request)
    await asyncio.to_thread(mark_unseen, app_state(request).ingest.engine, mid)
    return RedirectResponse("/ui", 303, headers=PAGE_HEADERS)
