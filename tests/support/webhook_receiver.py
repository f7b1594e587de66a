"""A Standard Webhooks receiver for tests: verifies like a real one, answers what tests script.

Verification uses the ``standardwebhooks`` reference library (``Webhook.verify``), not our
own code, so a passing test means any spec-following receiver accepts our deliveries.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

SECRET = "whsec_" + base64.b64encode(b"mailhook-test-signing-key-012345").decode()
HOOK_PATH = "/hook"


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]
    verified: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Every POST is verified and kept in ``deliveries``; ``script`` answers are consumed first."""

    secret: str = SECRET
    deliveries: list[Delivery] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)

    @property
    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified and d.headers.get("x-scripted") != "1"]

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            if self.script:
                headers["x-scripted"] = "1"
                self.deliveries.append(Delivery(body, headers, verified))
                status, answer_headers, text = self.script.pop(0)
                return PlainTextResponse(text, status, headers=answer_headers)
            self.deliveries.append(Delivery(body, headers, verified))
            return PlainTextResponse("ok" if verified else "bad signature", 200 if verified else 401)

        async def moved(request: Request) -> Response:
            return RedirectResponse(HOOK_PATH, status_code=302)

        return Starlette(routes=[Route(HOOK_PATH, hook, methods=["POST"]), Route("/moved", moved, methods=["POST"])])
