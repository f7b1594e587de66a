"""Forward Email's domain-alias API as ../shared/seeds/002 describes it.

Basic auth with the API token as user name and no password. Body parameters arrive form-encoded
(the docs' ``curl -d``) or as JSON. ``recipients`` is a list or a comma/space/newline separated
string of e-mail addresses, FQDNs, IPs or webhook URLs. Lists page with ``page``/``limit`` and the
``X-Page-*``/``X-Item-Count``/``Link`` headers. The alias object and the error body are not in the
docs [U]: errors are Boom-style ``{statusCode, error, message}`` as Forward Email's API answers.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fakes.base import FakeAPI, basic

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FQDN = re.compile(r"^([a-z0-9-]+\.)+[a-z]{2,}$")
_NAMES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "error": _NAMES[status], "message": message}, status)


def _valid_recipient(value: str) -> bool:
    if value.startswith(("http://", "https://")) or _EMAIL.match(value) or _FQDN.match(value):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass
class FakeForwardEmail(FakeAPI):
    domains: set[str] = field(default_factory=lambda: {"example.com"})
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> alias
    max_limit: int = 50

    def authorised(self, request: Request) -> bool:
        return basic(request) == (self.api_key, "")

    def unauthorised(self) -> Response:
        return _error(401, "Invalid API token.")

    def too_many(self) -> Response:
        return _error(429, "Rate limit exceeded, retry in 1 second.")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/domains/{domain}/aliases", self.guard(self.index), methods=["GET"]),
                Route("/v1/domains/{domain}/aliases", self.guard(self.create), methods=["POST"]),
                Route("/v1/domains/{domain}/aliases/{ref}", self.guard(self.delete), methods=["DELETE"]),
            ]
        )

    async def create(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        if domain not in self.domains:
            return _error(404, "Domain does not exist on your account.")
        if request.headers.get("content-type", "").startswith("application/json"):
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.form())
        name = str(params.get("name") or secrets.token_hex(4))
        recipients = params.get("recipients") or []
        if isinstance(recipients, str):
            recipients = [r for r in re.split(r"[\s,]+", recipients) if r]
        if not recipients or not all(isinstance(r, str) and _valid_recipient(r) for r in recipients):
            return _error(400, "Recipients must be e-mail addresses, FQDNs, IP addresses or webhook URLs.")
        if any(a["name"] == name and a["domain"]["name"] == domain for a in self.aliases.values()):
            return _error(400, "Alias already exists for domain.")
        return JSONResponse(self.seed(f"{name}@{domain}", *recipients), 200)

    async def index(self, request: Request) -> Response:
        domain = request.path_params["domain"]
        if domain not in self.domains:
            return _error(404, "Domain does not exist on your account.")
        page, limit = int(request.query_params.get("page", "1")), int(request.query_params.get("limit", "10"))
        if page < 1 or not 1 <= limit <= self.max_limit:
            return _error(400, f"page must be >= 1 and limit between 1 and {self.max_limit}.")
        items = [a for a in self.aliases.values() if a["domain"]["name"] == domain]
        pages = max(1, -(-len(items) // limit))
        chunk = items[(page - 1) * limit : page * limit]
        base = str(request.url.remove_query_params(["page"]))
        links = [f'<{base}&page={p}>; rel="{rel}"' for p, rel in ((page + 1, "next"), (pages, "last")) if p <= pages]
        headers = {
            "X-Page-Count": str(pages),
            "X-Page-Current": str(page),
            "X-Page-Size": str(len(chunk)),
            "X-Item-Count": str(len(items)),
            "Link": ", ".join(links),
        }
        return JSONResponse(chunk, headers=headers)

    async def delete(self, request: Request) -> Response:
        ref, domain = request.path_params["ref"], request.path_params["domain"]
        alias = self.aliases.get(ref)
        if alias is None or alias["domain"]["name"] != domain:
            return _error(404, "Alias does not exist.")
        del self.aliases[ref]
        return JSONResponse(alias)

    def seed(self, address: str, *recipients: str) -> dict[str, Any]:
        name, _, domain = address.partition("@")
        self.domains.add(domain)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        alias: dict[str, Any] = {
            "object": "alias",
            "id": f"{self.next_id():024x}",
            "name": name,
            "recipients": list(recipients),
            "is_enabled": True,
            "domain": {"name": domain},
            "created_at": now,
            "updated_at": now,
        }
        self.aliases[alias["id"]] = alias
        return alias
