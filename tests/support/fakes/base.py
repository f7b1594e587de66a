"""What every fake provider API shares: the expected key, a rate-limit switch, a request log.

Each fake says how its provider authenticates and what its error bodies look like; ``guard``
applies them in the order the real services do: authentication first, then the rate limit.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class Swappable:
    """An ASGI app that forwards to ``app``: one server per test module, a fresh fake per test."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class FakeAPI:
    """Base for the fakes: ``rate_limit_next(n)`` makes the next ``n`` authorised calls answer 429."""

    api_key: str = "test-api-key-0123456789"
    #: ``Retry-After`` sent with 429 (None: the header is left out).
    retry_after: str | None = "1"
    throttled: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def rate_limit_next(self, count: int, *, retry_after: str | None = "1") -> None:
        self.throttled = count
        self.retry_after = retry_after

    def app(self) -> Starlette:
        raise NotImplementedError

    def authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def unauthorised(self) -> Response:
        raise NotImplementedError

    def too_many(self) -> Response:
        return JSONResponse({"message": "Too Many Requests"}, 429)

    def guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            self.requests.append((request.method, request.url.path))
            if not self.authorised(request):
                return self.unauthorised()
            if self.throttled > 0:
                self.throttled -= 1
                response = self.too_many()
                if self.retry_after is not None:
                    response.headers["Retry-After"] = self.retry_after
                return response
            return await endpoint(request)

        return guarded

    def next_id(self) -> int:
        return next(self._ids)


async def json_object(request: Request) -> dict[str, object] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None
