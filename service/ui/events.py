"""``GET /ui/events``: Server-Sent Events telling the inbox that newer mail is stored.

The stream listens to the web process's one subscriber to the ingest's "stored" notification
(``service.api.waiters.WaitHub``, key ``ANY``), the same Redis channel that wakes
``GET /api/v1/wait``. A notification is a hint to look: on each one (and at least every
``WaitHub`` re-check interval, so a lost notification delays an update, never loses it) the
stream reads the newest id from the primary key and sends it if it changed. The page then
fetches the new rows itself, through the same search as the list it shows.

An event stream is a GET, so no CSRF token protects it: it answers only with the session cookie
(``SameSite=Strict``) and only to our own origin (``check_origin``), and it carries ids, no mail.
Each stream ends after ``STREAM_MAX_S``; ``EventSource`` reconnects by itself (after ``retry``),
which re-checks the session (a revoked token stops the updates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from service.api.waiters import ANY
from service.store.browse import newest_id
from service.ui.inbox import cursor_param
from service.ui.session import app_state, check_origin, require_session
from service.web.state import AppState

STREAM_MAX_S = 300.0
#: At most one event per this interval per stream, however fast mail arrives.
MIN_INTERVAL_S = 0.25
RECONNECT_MS = 2000


def _event(newest: str) -> bytes:
    return f"id: {newest}\nevent: stored\ndata: {newest}\n\n".encode()


async def _stream(state: AppState, last: str | None) -> AsyncIterator[bytes]:
    engine = state.ingest.engine
    deadline = time.monotonic() + STREAM_MAX_S
    with state.waiters.watch(ANY) as watch:  # registered before the first read: nothing slips by
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        while True:
            newest = await asyncio.to_thread(newest_id, engine)
            if newest is not None and (last is None or newest > last):
                last = newest
                yield _event(newest)
                await asyncio.sleep(MIN_INTERVAL_S)
            else:
                yield b": keep-alive\n\n"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await watch.wait(remaining)


async def events(request: Request) -> Response:
    await require_session(request)
    check_origin(request)
    # The newest id the page already shows (``since``), or the last one this stream sent.
    last = cursor_param(request, "since")
    resumed = request.headers.get("last-event-id", "").lower()
    if resumed and (last is None or resumed > last) and len(resumed) == 26:
        last = resumed
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(_stream(app_state(request), last), media_type="text/event-stream", headers=headers)
