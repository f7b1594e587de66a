"""A fake addy.io API serving ``GET /api/v1/failed-deliveries`` as its docs and code describe.

``Authorization: Bearer <token>`` (else 401 ``{"message": "Unauthenticated."}``, as Laravel
answers); Laravel pagination with ``page[number]``/``page[size]`` capped at ``max_page_size``,
``links.next`` and ``meta``; rows newest first. ``script`` forces the next answers (429 with
``Retry-After``, 500 …); ``requests`` records every call's query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "addy-token-0123456789abcdef"


def failed_delivery(row_id: str, created: str, *, bounce_type: str = "hard", **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": row_id,
        "user_id": "ca0a4e09-c266-4f6f-845c-958db5090f09",
        "recipient_id": "46eebc50-f7f8-46d7-beb9-c37f04c29a84",
        "recipient_email": "user@recipient.example",
        "alias_id": "50c9e585-e7f5-41c4-9016-9014c15454bc",
        "alias_email": "alias@anonaddy.example",
        "bounce_type": bounce_type,
        "remote_mta": "mail.recipient.example",
        "sender": "sender@example.com",
        "email_type": "F",
        "status": "5.7.1",
        "code": "smtp; 550 5.7.1 <user@recipient.example>: Recipient address rejected: Recipient not found",
        "attempted_at": created,
        "created_at": created,
        "updated_at": created,
    }
    return {**row, **fields}


@dataclass
class FakeAddy:
    rows: list[dict[str, Any]] = field(default_factory=list)
    max_page_size: int = 2
    token: str = TOKEN
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def failed(request: Request) -> Response:
            self.requests.append(dict(request.query_params))
            if self.script:
                status, headers = self.script.pop(0)
                return JSONResponse({"message": "Too Many Attempts."}, status, headers=headers)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse({"message": "Unauthenticated."}, 401)
            size = min(int(request.query_params.get("page[size]", "25")), self.max_page_size)
            number = int(request.query_params.get("page[number]", "1"))
            page = self.rows[(number - 1) * size : number * size]
            last = max(1, -(-len(self.rows) // size))
            base = str(request.url.remove_query_params(["page[number]"]))
            links = {"next": f"{base}&page[number]={number + 1}" if number < last else None}
            meta = {"current_page": number, "last_page": last, "per_page": size, "total": len(self.rows)}
            return JSONResponse({"data": page, "links": links, "meta": meta})

        return Starlette(routes=[Route("/api/v1/failed-deliveries", failed)])
