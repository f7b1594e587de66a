"""Real servers on loopback for tests: the app under uvicorn, and a fake Slack."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service.cli.embedded_redis import free_port


@contextmanager
def serve_in_thread(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    port = port or free_port()
    # proxy_headers off, as `mailhook serve` runs: X-Forwarded-For is our code's business alone.
    # A bounded graceful shutdown, as `mailhook serve` has: an open SSE or `wait` response would
    # otherwise hold the server (and its uvloop) alive in a daemon thread into interpreter exit,
    # where it can crash the process after every test has passed.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        if thread.is_alive():
            raise RuntimeError(f"uvicorn on port {port} did not stop within 15 s")


@dataclass
class FakeSlack:
    """Behaves like a Slack incoming webhook: 200 ``ok``, or the failures tests script.

    ``script`` is consumed one entry per request: ``(status, headers, body)``; when empty,
    requests succeed. Every request's JSON is kept in ``posts``.
    """

    posts: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def app(self) -> Starlette:
        async def webhook(request: Request) -> Response:
            self.attempts += 1
            if self.script:
                status, headers, body = self.script.pop(0)
                return PlainTextResponse(body, status, headers=headers)
            try:
                payload = await request.json()
            except ValueError:
                return PlainTextResponse("invalid_payload", 400)
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                return PlainTextResponse("no_text", 400)
            self.posts.append(payload)
            self.arrived.set()
            return PlainTextResponse("ok")

        return Starlette(routes=[Route("/services/T000/B000/XXXX", webhook, methods=["POST"])])

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.posts


SLACK_PATH = "/services/T000/B000/XXXX"
