"""addy.io API v1 aliases and recipients as ../shared/seeds/001 describes them.

``Authorization: Bearer``; ``{"data": ...}`` bodies; alias lists paged with ``page[number]`` /
``page[size]`` (1..100) and Laravel's ``links``/``meta``. Error bodies are not shown in the docs;
addy.io is a Laravel app, whose bodies are ``{"message"}`` and, for 422, ``{"message", "errors"}`` [U].
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fakes.base import FakeAPI, bearer, json_object

_FORMATS = {"random_characters", "uuid", "random_words", "custom"}


def _invalid(field_name: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "errors": {field_name: [message]}}, 422)


@dataclass
class FakeAddy(FakeAPI):
    #: addy.io's shared domains (no custom local parts there) and the account's own domains.
    shared_domains: set[str] = field(default_factory=lambda: {"anonaddy.me"})
    custom_domains: set[str] = field(default_factory=lambda: {"example.com"})
    recipients: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)

    def authorised(self, request: Request) -> bool:
        return bearer(request) == self.api_key

    def unauthorised(self) -> Response:
        return JSONResponse({"message": "Unauthenticated."}, 401)

    def too_many(self) -> Response:
        return JSONResponse({"message": "Too Many Attempts."}, 429, headers={"X-RateLimit-Remaining": "0"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/recipients", self.guard(self.list_recipients), methods=["GET"]),
                Route("/api/v1/aliases", self.guard(self.list_aliases), methods=["GET"]),
                Route("/api/v1/aliases", self.guard(self.create), methods=["POST"]),
                Route("/api/v1/aliases/{id}", self.guard(self.delete), methods=["DELETE"]),
            ]
        )

    def add_recipient(self, email: str, *, verified: bool = True) -> str:
        rid = str(uuid.uuid4())
        stamp = _now()
        self.recipients[rid] = {
            "id": rid,
            "user_id": "ca0a4e09-c266-4f6f-845c-958db5090f09",
            "email": email,
            "can_reply_send": True,
            "should_encrypt": False,
            "email_verified_at": stamp if verified else None,
            "aliases_count": 0,
            "created_at": stamp,
            "updated_at": stamp,
        }
        return rid

    async def list_recipients(self, request: Request) -> Response:
        items = list(self.recipients.values())
        wanted = request.query_params.get("filter[verified]")
        if wanted is not None:
            items = [r for r in items if (r["email_verified_at"] is not None) == (wanted == "true")]
        return JSONResponse({"data": items})

    async def create(self, request: Request) -> Response:
        body = await json_object(request) or {}
        domain, fmt = body.get("domain"), body.get("format", "random_characters")
        if domain not in self.shared_domains | self.custom_domains:
            return _invalid("domain", "The selected domain is invalid.")
        if fmt not in _FORMATS:
            return _invalid("format", "The selected format is invalid.")
        local = body.get("local_part")
        if fmt == "custom" and (domain in self.shared_domains or not isinstance(local, str) or not local):
            return _invalid("local_part", "The local part field is required when format is custom.")
        rids = body.get("recipient_ids") or []
        if not isinstance(rids, list) or any(r not in self.recipients for r in rids):
            return _invalid("recipient_ids", "The selected recipient ids is invalid.")
        local = local if fmt == "custom" else (str(uuid.uuid4()) if fmt == "uuid" else uuid.uuid4().hex[:8])
        if any(a["email"] == f"{local}@{domain}" for a in self.aliases.values()):
            return _invalid("local_part", "The local part has already been taken.")
        return JSONResponse({"data": self.seed(f"{local}@{domain}", rids)}, 201)

    async def list_aliases(self, request: Request) -> Response:
        number = int(request.query_params.get("page[number]", "1"))
        size = int(request.query_params.get("page[size]", "100"))
        if not 1 <= size <= 100:
            return _invalid("page.size", "The page.size must be between 1 and 100.")
        items = list(self.aliases.values())
        recipient = request.query_params.get("recipient")
        if recipient is not None:
            items = [a for a in items if recipient in a["recipient_ids"]]
        last = max(1, math.ceil(len(items) / size))
        chunk = items[(number - 1) * size : number * size]
        meta = {"current_page": number, "last_page": last, "per_page": size, "total": len(items)}
        links = {"prev": None, "next": None}
        return JSONResponse({"data": [self._public(a) for a in chunk], "links": links, "meta": meta})

    async def delete(self, request: Request) -> Response:
        if self.aliases.pop(request.path_params["id"], None) is None:
            return JSONResponse({"message": "Not Found."}, 404)
        return Response(status_code=204)

    def seed(self, address: str, recipient_ids: list[str]) -> dict[str, Any]:
        local, _, domain = address.partition("@")
        stamp = _now()
        alias: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "user_id": "ca0a4e09-c266-4f6f-845c-958db5090f09",
            "local_part": local,
            "extension": None,
            "domain": domain,
            "email": address,
            "active": True,
            "description": None,
            "recipients": [],
            "created_at": stamp,
            "updated_at": stamp,
            "deleted_at": None,
            "recipient_ids": list(recipient_ids),  # fake-internal; not in the API's alias object
        }
        self.aliases[alias["id"]] = alias
        return self._public(alias)

    @staticmethod
    def _public(alias: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in alias.items() if k != "recipient_ids"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
