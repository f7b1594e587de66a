"""Admin-scope message operations: ``DELETE /api/v1/messages/{id}`` and ``POST …/{id}/replay``."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import spec
from service.api.auth import authorize
from service.api.messages import message_id
from service.api.params import Query
from service.errors import NotFound, StorageUnavailable
from service.handoff.replay import enqueue_replay, prepare_replay
from service.store.reads import delete_message
from service.store.tokens import Scope
from service.web.state import AppState

log = logging.getLogger("mailhook.api")


def delete_stored(state: AppState, mid: str) -> bool:
    """Delete the message: rows first (one transaction), then the blobs nothing references any
    more; ``False`` if there is no such message."""
    orphans = delete_message(state.ingest.engine, mid)
    if orphans is None:
        return False
    for sha in orphans:
        try:
            state.ingest.blobs.delete(sha)
        except OSError as exc:  # the rows are gone; a leftover file wastes space, nothing else
            log.warning("could not remove blob %s of deleted message %s: %s", sha, mid, type(exc).__name__)
    state.content.forget(mid)
    return True


async def replay_stored(state: AppState, mid: str, *, resume: bool, then: str = "retry later") -> None:
    """Queue the message's pipeline again (``resume``: resume its failed runs at the failed step).

    Raises ``NotFound``, or ``StorageUnavailable`` (ending with ``then``) when the job queue is
    unavailable: the message is pending again, and the worker's sweeper queues it once Redis answers."""
    kwargs = await asyncio.to_thread(prepare_replay, state.ingest.engine, mid, resume=resume)
    if kwargs is None:
        raise NotFound(f"no message with id {mid}")
    try:
        await enqueue_replay(state.ingest.queue, mid, kwargs)
    except (RedisError, OSError) as exc:
        raise StorageUnavailable(f"the job queue is unavailable ({type(exc).__name__}); {then}") from None


@spec.documented(
    {
        "summary": "Delete a message, its runs and attachments, and the blobs no other message references",
        "security": spec.SECURITY,
        "parameters": [spec.ID_PARAMETER],
        "responses": spec.responses({"204": {"description": "Deleted"}}, admin=True),
    }
)
async def delete_one(request: Request) -> Response:
    await authorize(request, Scope.admin)
    Query(request.query_params, ())
    mid = message_id(request)
    state: AppState = request.app.state.mailhook
    if not await asyncio.to_thread(delete_stored, state, mid):
        raise NotFound(f"no message with id {mid}")
    return Response(status_code=204)


@spec.documented(
    {
        "summary": "Run the message's pipeline again (or, with resume=true, resume failed runs at the failed step)",
        "security": spec.SECURITY,
        "parameters": [
            spec.ID_PARAMETER,
            spec.query("resume", "Resume failed runs instead of a new run", {"type": "boolean"}),
        ],
        "responses": spec.responses(
            {
                "202": {
                    "description": "Queued",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status", "message_id"],
                                "properties": {"status": {"type": "string", "enum": ["queued"]}, "message_id": {}},
                            }
                        }
                    },
                }
            },
            admin=True,
        ),
    }
)
async def replay(request: Request) -> Response:
    await authorize(request, Scope.admin)
    resume = Query(request.query_params, ("resume",)).flag("resume")
    mid = message_id(request)
    await replay_stored(request.app.state.mailhook, mid, resume=resume)
    return JSONResponse({"status": "queued", "message_id": mid}, 202)
