"""ProxiedMail's proxy-binding API as ../shared/seeds/000 and ../shared/providers.md §1.6 describe it.

``Token`` header auth; JSON:API bodies; ``POST`` answers 201 with the seed doc's shape (``data`` a
single binding, or the older docs' list when ``data_as_list``). The error bodies are not
documented [U]: this fake answers JSON:API ``errors[{status, title, detail}]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fakes.base import FakeAPI, json_object

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _errors(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"errors": [{"status": str(status), "title": title, "detail": detail}]}, status)


@dataclass
class FakeProxiedMail(FakeAPI):
    bindings: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_as_list: bool = False

    def authorised(self, request: Request) -> bool:
        return request.headers.get("token") == self.api_key

    def unauthorised(self) -> Response:
        return _errors(401, "Unauthorized", "Invalid API token")

    def too_many(self) -> Response:
        return _errors(429, "Too Many Requests", "Too Many Attempts.")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/proxy-bindings", self.guard(self.create), methods=["POST"]),
                Route("/api/v1/proxy-bindings", self.guard(self.index), methods=["GET"]),
                Route("/api/v1/proxy-bindings/{id}", self.guard(self.delete), methods=["DELETE"]),
            ]
        )

    async def create(self, request: Request) -> Response:
        body = await json_object(request)
        data = body.get("data") if body else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "proxy_bindings" or not isinstance(attributes, dict):
            return _errors(422, "Unprocessable Entity", "data.type must be proxy_bindings with attributes")
        real = attributes.get("real_addresses")
        proxy = attributes.get("proxy_address")
        if not isinstance(real, list) or not all(isinstance(a, str) and _EMAIL.match(a) for a in real):
            return _errors(422, "Unprocessable Entity", "real_addresses must be a list of e-mail addresses")
        if proxy is None:
            proxy = f"gen{self.next_id()}@proxiedmail.com"
        if not isinstance(proxy, str) or not _EMAIL.match(proxy):
            return _errors(422, "Unprocessable Entity", "proxy_address is not an e-mail address")
        if any(b["attributes"]["proxy_address"] == proxy for b in self.bindings.values()):
            return _errors(422, "Unprocessable Entity", "The proxy address has already been taken.")
        binding = self._binding(proxy, real or [f"x{self.next_id()}@proxiedmail-int.int"], attributes)
        self.bindings[binding["id"]] = binding
        meta = {"isVerificationEmailSend": False, "firstProxyBinding": len(self.bindings) == 1}
        return JSONResponse({"meta": meta, "data": [binding] if self.data_as_list else binding}, 201)

    def _binding(self, proxy: str, real: list[str], attributes: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "type": "proxy_bindings",
            "id": f"{self.next_id():08X}-6000-0000-00000BAE",
            "attributes": {
                "real_addresses": {a: {"is_enabled": True, "is_verified": False} for a in real},
                "type": 0,
                "proxy_address": proxy,
                "received_emails": 0,
                "description": str(attributes.get("description") or ""),
                "callback_url": str(attributes.get("callback_url") or ""),
                "created_at": now,
                "updated_at": now,
            },
            "relationships": {"user": {"data": {"type": "users", "id": "BE090B33-0000-0000-00009BC6"}}},
        }

    async def index(self, request: Request) -> Response:
        meta = {
            "usedProxyBindings": len(self.bindings),
            "availableProxyBindings": 100,
            "isVerificationEmailSend": False,
        }
        return JSONResponse({"meta": meta, "data": list(self.bindings.values())})

    async def delete(self, request: Request) -> Response:
        if self.bindings.pop(request.path_params["id"], None) is None:
            return _errors(404, "Not Found", "Proxy binding not found")
        return Response(status_code=204)

    def seed(self, proxy: str, callback_url: str) -> str:
        """A binding made outside Mailhook (e.g. in the web UI)."""
        binding = self._binding(proxy, [f"x{self.next_id()}@proxiedmail-int.int"], {"callback_url": callback_url})
        self.bindings[binding["id"]] = binding
        return str(binding["id"])
