"""The read API's OpenAPI description: component schemas and one operation object per endpoint.

Endpoints carry their operation as ``__openapi__`` (``documented``); ``ApiSchemaGenerator``
prefers it to a YAML docstring and fills in any ``{path}`` parameter an operation leaves out, so
``/openapi.json`` lists every route with its parameters and responses and validates as OpenAPI 3
(``tests/test_api_openapi.py``; schemathesis fuzzes against it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from service.api.params import ADDRESS_PATTERN, CURSOR_PATTERN, KEYSET_PATTERN
from service.mail.bounce import KINDS, REASONS
from service.store.models import MessageStatus

F = TypeVar("F", bound=Callable[..., Any])


def documented(operation: dict[str, Any]) -> Callable[[F], F]:
    def mark(func: F) -> F:
        func.__dict__["__openapi__"] = operation  # a function attribute, which Callable cannot declare
        return func

    return mark


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object that has every one of ``properties``."""
    return {"type": "object", "required": list(properties), "properties": properties}


_STR = {"type": "string"}
_ADDRESS = _object({"name": _nullable(_STR), "address": _STR})
_SUMMARY_PROPS: dict[str, Any] = {
    "id": {"type": "string", "pattern": CURSOR_PATTERN},
    "received_at": {"type": "string", "format": "date-time"},
    "source": _STR,
    "provider": _STR,
    "envelope_from": _nullable(_STR),
    "envelope_to": {"type": "array", "items": _STR},
    "from": _nullable(_ADDRESS),
    "to": {"type": "array", "items": _ADDRESS},
    "cc": {"type": "array", "items": _ADDRESS},
    "recipient": _nullable(_STR),
    "subject": _nullable(_STR),
    "status": {"type": "string", "enum": [s.value for s in MessageStatus]},
    "code": _nullable(_STR),
    "links": {"type": "array", "items": _STR},
}
_STEP = _object(
    {
        "position": {"type": "integer"},
        "name": _STR,
        "status": _STR,
        "attempts": {"type": "integer"},
        "error": _nullable(_STR),
        "output": _nullable({"type": "object"}),
    }
)
_RUN = _object(
    {
        "id": {"type": "integer"},
        "pipeline": _STR,
        "route": _nullable(_STR),
        "status": _STR,
        "error": _nullable(_STR),
        "started_at": _nullable({"type": "string", "format": "date-time"}),
        "finished_at": _nullable({"type": "string", "format": "date-time"}),
        "steps": {"type": "array", "items": _STEP},
    }
)
_ATTACHMENT = _object(
    {
        "position": {"type": "integer"},
        "filename": _nullable(_STR),
        "content_type": _STR,
        "size": {"type": "integer"},
        "content_id": _nullable(_STR),
        "disposition": _STR,
    }
)
_DETAIL_PROPS: dict[str, Any] = {
    **_SUMMARY_PROPS,
    "text": _nullable(_STR),
    "html": _nullable(_STR),
    "headers": {"type": "array", "items": {"type": "array", "items": _STR, "minItems": 2, "maxItems": 2}},
    "attachments": {"type": "array", "items": _ATTACHMENT},
    "auth": {"type": "object", "additionalProperties": True},
    "defects": {"type": "array", "items": _STR},
    "bounce": _nullable(
        _object(
            {
                "kind": _STR,
                "reason": _STR,
                "status": _nullable(_STR),
                "reply_code": _nullable({"type": "integer"}),
                "recipients": {"type": "array", "items": _STR},
                "diagnostic": _nullable(_STR),
            }
        )
    ),
    "runs": {"type": "array", "items": _RUN},
}
_BOUNCE_PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "recipient": _STR,
    "kind": {"type": "string", "enum": list(KINDS)},
    "reason": {"type": "string", "enum": list(REASONS)},
    "status": _nullable(_STR),
    "reply_code": _nullable({"type": "integer"}),
    "diagnostic": _nullable(_STR),
    "reporting_mta": _nullable(_STR),
    "original_message_id": _nullable(_STR),
    "source": _STR,
    "provider": _STR,
    "message_id": _nullable(_STR),
    "forwarded_message_id": _nullable(_STR),
    "occurred_at": {"type": "string", "format": "date-time"},
    "created_at": {"type": "string", "format": "date-time"},
}
_SUPPRESSION_PROPS: dict[str, Any] = {
    "address": _STR,
    "kind": {"type": "string", "enum": [*KINDS, "manual"]},
    "reason": _STR,
    "source": _nullable(_STR),
    "since": {"type": "string", "format": "date-time"},
    "expires_at": _nullable({"type": "string", "format": "date-time"}),
}


def _page(item: str, cursor: str = KEYSET_PATTERN) -> dict[str, Any]:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": _nullable({"type": "string", "pattern": cursor}),
        }
    )


COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": _STR, "message": _STR, "details": {"type": "object"}},
        },
        "Summary": _object(_SUMMARY_PROPS),
        "Detail": _object(_DETAIL_PROPS),
        "Page": _page("Summary", CURSOR_PATTERN),
        "Cursor": _object({"cursor": {"type": "string", "pattern": CURSOR_PATTERN}}),
        "Bounce": _object(_BOUNCE_PROPS),
        "BouncePage": _page("Bounce"),
        "Suppression": _object(_SUPPRESSION_PROPS),
        "SuppressionPage": _page("Suppression"),
        "Waited": _object({"message": _ref("Summary"), "cursor": {"type": "string", "pattern": CURSOR_PATTERN}}),
    },
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "mailhook tokens create"}},
}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(ref)}}}


def _error(description: str) -> dict[str, Any]:
    return _json("Error", description)


def responses(
    ok: dict[str, Any],
    *,
    admin: bool = False,
    found: bool | str = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The answers every API route can give, plus ``ok`` and ``extra`` (status → response).

    ``found``: whether the route can answer 404, and what it means when not "no such message"."""
    out: dict[str, Any] = {
        **ok,
        "400": _error("A parameter (query, path or body field) is unknown or malformed (details.parameter names it)"),
        "401": _error("No token, or an unknown or revoked one"),
        "403": _error("The token lacks the admin scope" if admin else "The token lacks the read scope"),
        "503": _error("The message store is unavailable; retry later"),
        **(extra or {}),
    }
    if found:
        out["404"] = _error(found if isinstance(found, str) else "No message with this id")
    return out


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or _STR}


def json_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A request body that must be a JSON object of ``properties`` (no others), ``required`` among them."""
    schema = {"type": "object", "required": required, "additionalProperties": False, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ADDRESS = {"type": "string", "pattern": ADDRESS_PATTERN}
MOMENT = {"type": "string", "description": "a cursor, an ISO 8601 timestamp (UTC unless it says) or Unix seconds"}
KEYSET = {"type": "string", "pattern": KEYSET_PATTERN}
TIMESTAMP = {"type": "string", "description": "an ISO 8601 timestamp (UTC unless it says) or Unix seconds"}
ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": CURSOR_PATTERN}}
JSON = _json


def paging(cursor: dict[str, Any]) -> list[dict[str, Any]]:
    """A list's ``cursor`` (``next_cursor`` of the previous page, of schema ``cursor``) and ``limit``."""
    return [
        query("cursor", "next_cursor of the previous page", cursor),
        query("limit", "Page size (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
    ]


SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR}


class ApiSchemaGenerator(SchemaGenerator):
    """Starlette's generator, reading ``__openapi__`` first and declaring every path parameter."""

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        operation = getattr(func_or_method, "__openapi__", None)
        if isinstance(operation, dict):
            return dict(operation)
        return super().parse_docstring(func_or_method)

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        schema = super().get_schema(routes)
        for path, operations in schema["paths"].items():
            names = re.findall(r"{(\w+)}", path)
            for operation in operations.values():
                # One endpoint may serve several paths (/hooks/{source}/{secret} and /hooks/{source}):
                # keep the path parameters this path has, add the ones it leaves out.
                kept = [p for p in operation.get("parameters", []) if p.get("in") != "path" or p.get("name") in names]
                declared = {p.get("name") for p in kept if p.get("in") == "path"}
                missing = [_path_parameter(n) for n in names if n not in declared]
                if missing or len(kept) != len(operation.get("parameters", [])):
                    operation["parameters"] = [*kept, *missing]
        return schema
