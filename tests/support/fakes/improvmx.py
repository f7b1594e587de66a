"""ImprovMX API v3 aliases as ../shared/seeds/004 describes them.

Basic auth ``api:KEY``; every body carries ``success``; errors are ``{"errors": {field: [msg]},
"success": false}`` (the one documented error body; the field name used for 401/404/429 is ours
[U]). ``GET …/aliases/`` pages ``page_size`` at a time (the docs' example has ``limit: 5``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fakes.base import FakeAPI, basic, json_object

_ALIAS = re.compile(r"^[a-z0-9*][a-z0-9._+-]{0,63}$")


def _errors(status: int, field_name: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": {field_name: [message]}, "success": False}, status)


@dataclass
class FakeImprovMX(FakeAPI):
    domains: set[str] = field(default_factory=lambda: {"example.com"})
    aliases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # domain -> alias -> object
    page_size: int = 5

    def authorised(self, request: Request) -> bool:
        return basic(request) == ("api", self.api_key)

    def unauthorised(self) -> Response:
        return _errors(401, "api_key", "Authentication required: invalid API key.")

    def too_many(self) -> Response:
        return _errors(429, "api", "Too many requests, slow down.")

    def app(self) -> Starlette:
        app = Starlette(
            routes=[
                Route("/v3/domains/{domain}/aliases/", self.guard(self.index), methods=["GET"]),
                Route("/v3/domains/{domain}/aliases/", self.guard(self.create), methods=["POST"]),
                Route("/v3/domains/{domain}/aliases/{alias}", self.guard(self.delete), methods=["DELETE"]),
            ]
        )
        app.router.redirect_slashes = False  # the documented paths end in "/"; a client without it is wrong
        return app

    def _domain(self, request: Request) -> dict[str, dict[str, Any]] | None:
        domain = request.path_params["domain"]
        return self.aliases.setdefault(domain, {}) if domain in self.domains else None

    async def create(self, request: Request) -> Response:
        aliases = self._domain(request)
        if aliases is None:
            return _errors(404, "domain", "Domain not found.")
        body = await json_object(request) or {}
        alias, forward = body.get("alias"), body.get("forward")
        if not isinstance(alias, str) or not _ALIAS.match(alias):
            return _errors(400, "alias", "This alias is invalid.")
        if not isinstance(forward, str) or not forward:
            return _errors(400, "forward", "Missing destination.")
        if alias in aliases:
            return _errors(400, "alias", "This alias already exists.")
        aliases[alias] = {"created": int(time.time() * 1000), "forward": forward, "alias": alias, "id": self.next_id()}
        created = {k: v for k, v in aliases[alias].items() if k != "created"}  # the docs' create example
        return JSONResponse({"alias": created, "success": True})

    async def index(self, request: Request) -> Response:
        aliases = self._domain(request)
        if aliases is None:
            return _errors(404, "domain", "Domain not found.")
        page = int(request.query_params.get("page", "1"))
        items = list(aliases.values())
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        return JSONResponse(
            {"aliases": chunk, "limit": self.page_size, "page": page, "total": len(items), "success": True}
        )

    async def delete(self, request: Request) -> Response:
        aliases = self._domain(request)
        if aliases is None or aliases.pop(request.path_params["alias"], None) is None:
            return _errors(404, "alias", "Alias not found.")
        return JSONResponse({"success": True})

    def seed(self, address: str, forward: str) -> str:
        alias, _, domain = address.partition("@")
        self.domains.add(domain)
        item = {"created": int(time.time() * 1000), "forward": forward, "alias": alias, "id": self.next_id()}
        self.aliases.setdefault(domain, {})[alias] = item
        return str(item["id"])
