"""A stand-in for Mailhook's own ``/api/v1`` (the READ-API CONTRACT in PLAN.md), over an in-memory list.

It exists so the client, the pytest plugin and ``mailhook wait`` can be tested before (and
independently of) the real API: bearer tokens with ``read``/``admin`` scopes (401/403 bodies),
400 bodies naming the parameter, cursor pagination newest first, and ``/wait`` holding the request
up to ``max_wait_s`` then answering 408 with ``capped: true`` and a cursor to resume from.

Cursors are ``c:<seq>`` (a point in the store) and page cursors ``p:<seq>``; anything else is a
400, as the contract asks of a malformed cursor. ``/wait`` without ``since`` waits for mail stored
after the request arrived. ``fail_next`` scripts failures: each entry answers one request with
that status before any auth check (a gateway's 502/503/504, say).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

READ_TOKEN = "mh_read-token-for-tests-0123456789abcdefghijkl"
ADMIN_TOKEN = "mh_admin-token-for-tests-0123456789abcdefghijk"
LIST_PARAMS = {"to", "from", "subject", "text", "tag", "source", "status", "since", "until", "cursor", "limit"}
WAIT_PARAMS = {"to", "from", "subject", "since", "timeout", "claim"}
#: Not part of the API: lets a test in another process (pytester, a CLI subprocess) "send" mail.
DELIVER_PATH = "/_fake/deliver"
VIAS = {"proxiedmail", "improvmx", "forwardemail", "addy", "mittwald"}


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details:
            body["details"] = self.details
        return JSONResponse(body, self.status)


def bad(parameter: str, message: str) -> ApiError:
    return ApiError(400, "bad_request", message, parameter=parameter)


def _split(address: str) -> tuple[str, str | None, str]:
    local, _, domain = address.lower().partition("@")
    base, plus, tag = local.partition("+")
    return base, tag if plus else None, domain


def address_matches(wanted: str, address: str) -> bool:
    """Exact address, or a base address that also matches every plus-tag of it."""
    w_base, w_tag, w_domain = _split(wanted)
    base, tag, domain = _split(address)
    return (w_base, w_domain) == (base, domain) and (w_tag is None or w_tag == tag)


@dataclass
class FakeMailhookAPI:
    """The fake's state; ``deliver()`` stores a message as ingest would (thread-safe)."""

    max_wait_s: float = 300.0
    tokens: dict[str, str] = field(default_factory=lambda: {READ_TOKEN: "read", ADMIN_TOKEN: "admin"})
    messages: list[dict[str, Any]] = field(default_factory=list)
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)
    fail_next: list[int] = field(default_factory=list)
    seq: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(
        self,
        to: str,
        *,
        subject: str = "Your code",
        code: str | None = None,
        links: tuple[str, ...] = (),
        sender: str = "no-reply@example.net",
        text: str = "",
    ) -> dict[str, Any]:
        with self._lock:
            self.seq += 1
            seq = self.seq
            _, tag, _ = _split(to)
            message = {
                "id": uuid.uuid4().hex,
                "received_at": datetime.now(UTC).isoformat(),
                "source": "improvmx",
                "provider": "improvmx",
                "envelope_from": sender,
                "envelope_to": [to],
                "from": {"name": "Widget Co", "address": sender},
                "to": [{"name": None, "address": to}],
                "cc": [],
                "recipient": to,
                "subject": subject,
                "status": "pending",
                "code": code,
                "links": list(links),
                "text": text,
                "tag": tag,
                "_seq": seq,
            }
            self.messages.append(message)
        return message

    def last_seq(self) -> int:
        return self.seq

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/messages", self._list, methods=["GET"]),
                Route("/api/v1/messages/{id}", self._detail, methods=["GET", "DELETE"]),
                Route("/api/v1/messages/{id}/raw", self._raw, methods=["GET"]),
                Route("/api/v1/messages/{id}/attachments/{n:int}", self._attachment, methods=["GET"]),
                Route("/api/v1/messages/{id}/replay", self._replay, methods=["POST"]),
                Route("/api/v1/cursor", self._cursor, methods=["GET"]),
                Route("/api/v1/wait", self._wait, methods=["GET"]),
                Route("/api/v1/addresses", self._addresses, methods=["GET", "POST"]),
                Route("/api/v1/addresses/{address}", self._delete_address, methods=["DELETE"]),
                Route(DELIVER_PATH, self._deliver, methods=["POST"]),
            ],
            exception_handlers={ApiError: lambda request, exc: exc.response()},
        )

    # Helpers shared by the routes

    def _auth(self, request: Request, scope: str = "read") -> None:
        self.requests.append((request.method, request.url.path, dict(request.query_params)))
        if self.fail_next:
            status = self.fail_next.pop(0)
            raise ApiError(status, "unavailable", f"scripted {status}")
        header = request.headers.get("authorization", "")
        granted = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if granted is None:
            raise ApiError(401, "unauthorized", "missing or invalid bearer token")
        if scope == "admin" and granted != "admin":
            raise ApiError(403, "forbidden", "this needs an admin token")

    def _params(self, request: Request, allowed: set[str]) -> dict[str, str]:
        params = dict(request.query_params)
        for name in params:
            if name not in allowed:
                raise bad(name, f"unknown parameter {name!r}")
        if "to" in params and "@" not in params["to"]:
            raise bad("to", "to must be an email address")
        return params

    def _find(self, message_id: str) -> dict[str, Any]:
        for message in self.messages:
            if message["id"] == message_id:
                return message
        raise ApiError(404, "not_found", f"no message {message_id}")

    @staticmethod
    def _seq(value: str, prefix: str, parameter: str) -> int:
        number = value.removeprefix(prefix)
        if not value.startswith(prefix) or not number.isdigit():
            raise bad(parameter, f"malformed {parameter}")
        return int(number)

    @staticmethod
    def summary(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if not k.startswith("_") and k not in ("text", "tag")}

    def _matches(self, message: dict[str, Any], params: dict[str, str]) -> bool:
        checks = [
            "to" not in params or any(address_matches(params["to"], a) for a in message["envelope_to"]),
            "from" not in params or params["from"].lower() == message["envelope_from"].lower(),
            "subject" not in params or params["subject"].lower() in (message["subject"] or "").lower(),
            "text" not in params or params["text"].lower() in message["text"].lower(),
            "tag" not in params or params["tag"] == message["tag"],
            "source" not in params or params["source"] == message["source"],
            "status" not in params or params["status"] == message["status"],
        ]
        return all(checks)

    # Routes

    async def _list(self, request: Request) -> Response:
        self._auth(request)
        params = self._params(request, LIST_PARAMS)
        limit = params.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            raise bad("limit", "limit must be 1..500")
        since = self._seq(params["since"], "c:", "since") if "since" in params else 0
        before = self._seq(params["cursor"], "p:", "cursor") if "cursor" in params else None
        found = [
            m
            for m in reversed(self.messages)
            if m["_seq"] > since and (before is None or m["_seq"] < before) and self._matches(m, params)
        ]
        page = found[: int(limit)]
        more = len(found) > len(page)
        return JSONResponse(
            {"items": [self.summary(m) for m in page], "next_cursor": f"p:{page[-1]['_seq']}" if more else None}
        )

    async def _detail(self, request: Request) -> Response:
        self._auth(request, "admin" if request.method == "DELETE" else "read")
        message = self._find(request.path_params["id"])
        if request.method == "DELETE":
            self.messages.remove(message)
            return Response(status_code=204)
        detail = self.summary(message) | {"text": message["text"], "html": None, "headers": [["Subject", "x"]]}
        detail |= {"attachments": [], "auth": {}, "defects": [], "bounce": None, "runs": []}
        return JSONResponse(detail)

    async def _raw(self, request: Request) -> Response:
        self._auth(request)
        message = self._find(request.path_params["id"])
        return Response(f"Subject: {message['subject']}\r\n\r\n{message['text']}".encode(), media_type="message/rfc822")

    async def _attachment(self, request: Request) -> Response:
        self._auth(request)
        self._find(request.path_params["id"])
        raise ApiError(404, "not_found", f"no attachment {request.path_params['n']}")

    async def _replay(self, request: Request) -> Response:
        self._auth(request, "admin")
        message = self._find(request.path_params["id"])
        return JSONResponse({"status": "queued", "message_id": message["id"]}, 202)

    async def _cursor(self, request: Request) -> Response:
        self._auth(request)
        return JSONResponse({"cursor": f"c:{self.last_seq()}"})

    async def _wait(self, request: Request) -> Response:
        self._auth(request)
        params = self._params(request, WAIT_PARAMS)
        if "to" not in params:
            raise bad("to", "to is required")
        try:
            timeout = float(params.get("timeout", "30"))
        except ValueError:
            raise bad("timeout", "timeout must be a number") from None
        if not 0 <= timeout <= 86400:
            raise bad("timeout", "timeout must be between 0 and 86400")
        since = self._seq(params["since"], "c:", "since") if "since" in params else self.last_seq()
        claim = params.get("claim", "false") == "true"
        effective = min(timeout, self.max_wait_s)
        deadline = time.monotonic() + effective
        while True:
            snapshot = self.last_seq()
            for message in [m for m in self.messages if since < m["_seq"] <= snapshot]:
                if self._matches(message, params) and not (claim and message["id"] in self.claimed):
                    if claim:
                        self.claimed.add(message["id"])
                    return JSONResponse({"message": self.summary(message), "cursor": f"c:{message['_seq']}"})
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.01)
        details = {"to": params["to"], "since": params.get("since"), "timeout": timeout}
        details |= {"max_timeout": self.max_wait_s, "capped": timeout > self.max_wait_s, "cursor": f"c:{snapshot}"}
        text = f"no message to {params['to']} within {effective:g} s"
        return ApiError(408, "timeout", text, **details).response()

    async def _deliver(self, request: Request) -> Response:
        body = await request.json()
        links = tuple(body.pop("links", ()))
        return JSONResponse(self.summary(self.deliver(body.pop("to"), links=links, **body)), 201)

    async def _addresses(self, request: Request) -> Response:
        if request.method == "GET":
            self._auth(request)
            return JSONResponse({"items": list(self.addresses.values())})
        self._auth(request, "admin")
        body = await request.json()
        if body.get("via") not in VIAS:
            raise bad("via", f"unknown provider {body.get('via')!r}")
        local = body.get("local_part") or uuid.uuid4().hex[:10]
        address = f"{local}@{body.get('domain') or body['via'] + '.example.com'}"
        created = {"address": address, "via": body["via"], "provider_ref": f"ref-{local}"}
        self.addresses[address] = created | {"created_at": datetime.now(UTC).isoformat()}
        return JSONResponse(self.addresses[address], 201)

    async def _delete_address(self, request: Request) -> Response:
        self._auth(request, "admin")
        if self.addresses.pop(request.path_params["address"], None) is None:
            raise ApiError(404, "not_found", "no such address")
        return Response(status_code=204)
