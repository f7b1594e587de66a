"""``GET /api/v1/cursor`` and ``GET /api/v1/wait``: hold a request until matching mail is stored.

A waiter looks for the *oldest* message after its cursor that matches, so a test that takes a
cursor, triggers a sign-up and only then waits still gets the mail that arrived in between, and
passing each answer's ``cursor`` as the next ``since`` walks through the mail in order without
skipping any. With ``claim=true`` the message is also claimed (an atomic database update), so
concurrent claimers on one address, in any number of processes, each get a different message.

On timeout the answer is **408** with a JSON body that says what was waited for, from which
cursor, for how long, and whether the server capped the timeout at ``max_wait_s`` (clients loop
past the cap until their own deadline). 408 rather than 204 because 204 may not carry the body
that says all this, and a timeout is a failed wait, not an empty success.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import spec, views
from service.api.auth import authorize
from service.api.params import Query, now_cursor
from service.api.waiters import watch_key
from service.errors import WaitTimeout
from service.store.reads import MessageQuery, claim_oldest, load_message, oldest_ids
from service.store.tokens import Scope
from service.web.state import AppState

MAX_TIMEOUT = 86400.0
DEFAULT_TIMEOUT = 30.0
_WAIT_PARAMS = ("to", "from", "subject", "since", "timeout", "claim")


@spec.documented(
    {
        "summary": "A cursor for now: anything stored after this call is newer (pass it as since)",
        "security": spec.SECURITY,
        "responses": spec.responses({"200": spec.JSON("Cursor", "The cursor")}, found=False),
    }
)
async def cursor(request: Request) -> Response:
    await authorize(request, Scope.read)
    Query(request.query_params, ())
    return JSONResponse({"cursor": now_cursor()})


def _find(state: AppState, query: MessageQuery, claim: bool) -> dict[str, Any] | None:
    engine = state.ingest.engine
    if claim:
        found = claim_oldest(engine, query)
    else:
        ids = oldest_ids(engine, query, limit=1)
        found = ids[0] if ids else None
    message = load_message(engine, found) if found else None
    if message is None:  # nothing yet, or deleted between the two reads
        return None
    return {"message": views.summary(message, state.content.extracted(message)), "cursor": message.id}


async def _disconnected(request: Request) -> None:
    """Returns when the client goes away (a waiter that gave up must not claim mail)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


_TIMEOUT_SCHEMA = {"type": "number", "minimum": 0, "maximum": MAX_TIMEOUT}


@spec.documented(
    {
        "summary": "Wait for the next message to an address (long poll)",
        "description": "Answers with the oldest matching message stored after `since` (default: the moment "
        "of this call). Pass the answer's `cursor` as `since` to wait for the one after it. "
        "On timeout: 408 with details (to, since, timeout, max_timeout, capped, cursor).",
        "security": spec.SECURITY,
        "parameters": [
            {
                **spec.query("to", "The address (exact, or a base address that includes its plus-tags)"),
                "required": True,
                "schema": spec.ADDRESS,
            },
            spec.query("from", "Sender, exact address", spec.ADDRESS),
            spec.query("subject", "Subject contains (case-insensitive)", {"type": "string", "maxLength": 1000}),
            spec.query("since", "Only mail stored after this cursor or time", spec.MOMENT),
            spec.query("timeout", "Seconds to wait (default 30; capped at the server's max_wait_s)", _TIMEOUT_SCHEMA),
            spec.query("claim", "Claim the message: no other claiming waiter gets it", {"type": "boolean"}),
        ],
        "responses": spec.responses(
            {"200": spec.JSON("Waited", "The message and the cursor to wait after it")},
            found=False,
            extra={
                "408": spec.JSON("Error", "Nothing matched in time (error: timeout; details say what and how long)")
            },
        ),
    }
)
async def wait(request: Request) -> Response:
    await authorize(request, Scope.read)
    q = Query(request.query_params, _WAIT_PARAMS)
    to = q.address("to", required=True)
    assert to is not None
    sender = q.address("from")
    since = q.moment("since") or now_cursor()
    query = MessageQuery(to=to, sender=sender.address if sender else None, subject=q.text("subject"), after=since)
    timeout = q.number("timeout", default=DEFAULT_TIMEOUT, low=0, high=MAX_TIMEOUT)
    claim = q.flag("claim")
    state: AppState = request.app.state.mailhook
    limit = state.settings.max_wait_s
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout, limit)
    gone = asyncio.create_task(_disconnected(request))
    try:
        with state.waiters.watch(watch_key(to)) as watch:
            while not gone.done():
                found = await asyncio.to_thread(_find, state, query, claim)
                if found is not None:
                    return JSONResponse(found)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                woken = asyncio.ensure_future(watch.wait(remaining))
                await asyncio.wait([gone, woken], return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
    raise _timed_out(to.address, since, timeout, limit)


def _timed_out(to: str, since: str, timeout: float, limit: float) -> WaitTimeout:
    waited = min(timeout, limit)
    capped = timeout > limit
    note = f" (asked {timeout:g} s; this server holds a wait at most {limit:g} s: wait again)" if capped else ""
    return WaitTimeout(
        f"no message to {to} within {waited:g} s{note}",
        details={
            "to": to,
            "since": since,
            "timeout": waited,
            "max_timeout": limit,
            "capped": capped,
            "cursor": since,
        },
    )
