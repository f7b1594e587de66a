"""Bearer-token authentication and scope checks for ``/api/v1``.

Every endpoint starts with ``await authorize(request, Scope.read)`` (or ``admin``): no token or
an unknown/revoked one is 401, a token without the scope is 403. The token is never logged: it
only travels in the ``Authorization`` header, which no log line of ours or uvicorn's prints.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine
from starlette.requests import Request

from service.errors import Forbidden, Unauthorized
from service.store.tokens import ApiToken, Scope, digest, verify_token

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mailhook"'}
#: How long a verified token is trusted without asking the database again; also how long a
#: revocation may take to reach a running process.
TRUST_S = 1.0
_MAX_CACHED = 1024


class TokenCache:
    """Tokens verified in the last ``TRUST_S``, by sha256. A waiting test sends a new wait after
    every answer; at 100 answers a second, a database read (and thread hop) per request adds up."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._verified: dict[str, tuple[ApiToken, float]] = {}

    async def verify(self, presented: str) -> ApiToken | None:
        key, now = digest(presented), time.monotonic()
        cached = self._verified.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        token = await asyncio.to_thread(verify_token, self._engine, presented)
        if len(self._verified) >= _MAX_CACHED:
            self._verified.clear()
        if token is None:
            self._verified.pop(key, None)
        else:
            self._verified[key] = (token, now + TRUST_S)
        return token


async def authorize(request: Request, scope: Scope) -> ApiToken:
    """The caller's token, if it is active and has ``scope`` (``admin`` includes ``read``)."""
    header = request.headers.get("authorization", "")
    kind, _, presented = header.partition(" ")
    if kind.lower() != "bearer" or not presented.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'", headers=_CHALLENGE)
    token: ApiToken | None = await request.app.state.mailhook.tokens.verify(presented.strip())
    if token is None:
        raise Unauthorized("unknown or revoked API token", headers=_CHALLENGE)
    if not token.allows(scope):
        raise Forbidden(f"this token has the {token.scope!r} scope; this needs {scope.value!r}")
    return token
