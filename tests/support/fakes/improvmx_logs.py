"""A fake ImprovMX API serving ``GET /v3/domains/{domain}/logs`` as its docs describe (seed 004).

HTTP Basic ``api:<key>`` (anything else: 401 with ImprovMX's error shape); ``{"logs": [...],
"success": true}`` newest first, ``page_size`` entries a page; ``next_cursor=<log id>`` returns
the entries after (older than) that one. ``script`` forces the next answers, e.g. a 429 with
``Retry-After``; ``requests`` counts every call.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_KEY = "imx-api-key-0123456789abcdef"


def log_entry(
    log_id: str | None, created: str, *events: dict[str, Any], forward: str = "richard@gmail.example"
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "created": created,
        "created_raw": "Sat, 25 Jan 2020 12:19:09 GMT",
        "events": list(events),
        "forward": {"email": forward, "name": "Richard"},
        "hostname": "mail-io1-f54.google.com",
        "messageId": f"msg-{log_id or created}",
        "recipient": {"email": "richard@piedpiper.example", "name": "Richard"},
        "sender": {"email": "gavin@hooli.example", "name": "Gavin"},
        "subject": "Hello",
        "transport": "smtp",
    }
    if log_id is not None:  # one entry in ImprovMX's own sample has no id
        entry["id"] = log_id
    return entry


def event(status: str, created: str, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "created": created,
        "id": "some_random_id",
        "local": "mx.gmail.example",
        "message": message,
        "server": "mail16.mxc.infra.improvmx.com",
        "status": status,
    }


@dataclass
class FakeImprovMX:
    logs: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    key: str = API_KEY
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def logs(request: Request) -> Response:
            self.requests.append(dict(request.query_params))
            if self.script:
                status, headers = self.script.pop(0)
                return JSONResponse(
                    {"errors": {"request": ["scripted failure"]}, "success": False}, status, headers=headers
                )
            if request.headers.get("authorization") != "Basic " + base64.b64encode(f"api:{self.key}".encode()).decode():
                return JSONResponse({"error": "Authentication required", "success": False}, 401)
            if request.path_params["domain"] != "piedpiper.example":
                return JSONResponse({"errors": {"domain": ["Domain not found"]}, "success": False}, 404)
            start = 0
            cursor = request.query_params.get("next_cursor")
            if cursor:
                ids = [entry.get("id") for entry in self.logs]
                start = ids.index(cursor) + 1 if cursor in ids else len(self.logs)
            return JSONResponse({"logs": self.logs[start : start + self.page_size], "success": True})

        return Starlette(routes=[Route("/v3/domains/{domain}/logs", logs)])
