"""mittwald mStudio API v2 mail addresses as ../shared/seeds/003 and ../shared/providers.md §5 describe them.

``Authorization: Bearer``. A mail address is created with either a ``mailbox`` (plus ``isCatchAll``)
or ``forwardAddresses``; both collection spellings are served (the how-to's ``mailaddresses`` and
the reference's ``mail-addresses``). The 201 body ``{"id"}`` and the error body ``{"type",
"message", "validationErrors"?}`` follow the reference [U: not in the how-to].
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fakes.base import FakeAPI, bearer, json_object

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _error(status: int, kind: str, message: str, path: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": kind, "message": message}
    if path is not None:
        body["validationErrors"] = [{"message": message, "path": path, "type": "invalid"}]
    return JSONResponse(body, status)


@dataclass
class FakeMittwald(FakeAPI):
    #: project id -> the domains set up in it
    projects: dict[str, set[str]] = field(default_factory=lambda: {"p-123": {"example.com"}})
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def authorised(self, request: Request) -> bool:
        return bearer(request) == self.api_key

    def unauthorised(self) -> Response:
        return _error(401, "UnauthorizedError", "the access token is invalid or expired")

    def too_many(self) -> Response:
        return _error(429, "TooManyRequestsError", "rate limit exceeded")

    def app(self) -> Starlette:
        routes = []
        for collection in ("mail-addresses", "mailaddresses"):
            routes += [
                Route(f"/v2/projects/{{project}}/{collection}", self.guard(self.create), methods=["POST"]),
                Route(f"/v2/projects/{{project}}/{collection}", self.guard(self.index), methods=["GET"]),
                Route(f"/v2/{collection}/{{id}}", self.guard(self.delete), methods=["DELETE"]),
            ]
        return Starlette(routes=routes)

    async def create(self, request: Request) -> Response:
        domains = self.projects.get(request.path_params["project"])
        if domains is None:
            return _error(404, "ResourceNotFoundError", "project not found")
        body = await json_object(request) or {}
        address, forwards, mailbox = body.get("address"), body.get("forwardAddresses"), body.get("mailbox")
        if not isinstance(address, str) or not _EMAIL.match(address):
            return _error(400, "ValidationError", "address must be an e-mail address", "address")
        if address.partition("@")[2] not in domains:
            return _error(400, "ValidationError", "the domain is not set up in this project", "address")
        if (forwards is None) == (mailbox is None):
            return _error(400, "ValidationError", "give either mailbox or forwardAddresses", "forwardAddresses")
        if forwards is not None and (
            not isinstance(forwards, list)
            or not forwards
            or not all(isinstance(f, str) and _EMAIL.match(f) for f in forwards)
        ):
            return _error(400, "ValidationError", "forwardAddresses must be e-mail addresses", "forwardAddresses")
        if any(a["address"] == address for a in self.addresses.values()):
            return _error(409, "ConflictError", "the mail address already exists")
        return JSONResponse({"id": self.seed(request.path_params["project"], address, forwards or [])}, 201)

    async def index(self, request: Request) -> Response:
        project = request.path_params["project"]
        if project not in self.projects:
            return _error(404, "ResourceNotFoundError", "project not found")
        return JSONResponse([a for a in self.addresses.values() if a["projectId"] == project])

    async def delete(self, request: Request) -> Response:
        if self.addresses.pop(request.path_params["id"], None) is None:
            return _error(404, "ResourceNotFoundError", "mail address not found")
        return Response(status_code=204)

    def seed(self, project: str, address: str, forwards: list[str]) -> str:
        mid = str(uuid.uuid4())
        self.addresses[mid] = {
            "id": mid,
            "address": address,
            "projectId": project,
            "forwardAddresses": list(forwards),
            "isCatchAll": False,
            "isArchived": False,
            "receivingDisabled": False,
            "updatedAt": datetime.now(UTC).isoformat(),
            "autoResponder": {"active": False, "message": ""},
        }
        return mid
