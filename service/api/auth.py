"""Bearer-token authentication and scope checks for ``/api/v1``.

Every endpoint starts with ``await authorize(request, Scope.read)`` (or ``admin``): no token or
an unknown/revoked one is 401, a token without the scope is 403. The token is never logged: it
only travels in the ``Authorization`` header, which no log line of ours or uvicorn's prints.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from service.errors import Forbidden, Unauthorized
from service.state import AppState
from service.store.tokens import ApiToken, Scope, verify_token

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mailhook"'}


async def authorize(request: Request, scope: Scope) -> ApiToken:
    """The caller's token, if it is active and has ``scope`` (``admin`` includes ``read``)."""
    header = request.headers.get("authorization", "")
    kind, _, presented = header.partition(" ")
    if kind.lower() != "bearer" or not presented.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'", headers=_CHALLENGE)
    state: AppState = request.app.state.mailhook
    token = await asyncio.to_thread(verify_token, state.ingest.engine, presented.strip())
    if token is None:
        raise Unauthorized("unknown or revoked API token", headers=_CHALLENGE)
    if not token.allows(scope):
        raise Forbidden(f"this token has the {token.scope!r} scope; this needs {scope.value!r}")
    return token
