"""Strict JSON request bodies for the read API's admin writes (addresses, suppressions).

The same rule as query parameters: a field the endpoint does not know is refused, not ignored,
so a typo (``"expire_at"``) fails loudly with 400 naming it instead of being silently dropped.
Strings must be storable in every database: no NUL (PostgreSQL text refuses it) and no lone
surrogate (JSON allows ``"\\ud800"``, UTF-8 does not).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.requests import Request

from service.errors import BadParameter, BadPayload

MAX_BODY = 16 * 1024


async def json_fields(request: Request, allowed: Collection[str], *, example: str) -> dict[str, Any]:
    """The body as a JSON object whose keys are all in ``allowed`` (null values dropped).

    ``example`` completes the message for a body that is not an object."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadPayload("the request body is too large")
    try:
        data: Any = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise BadPayload("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadPayload(f"the request body must be a JSON object like {example}")
    for key in data:
        if key not in allowed:
            raise BadParameter(key, f"unknown field {key!r}; give {', '.join(allowed)}")
    return {key: value for key, value in data.items() if value is not None}


def text_field(data: dict[str, Any], name: str, *, max_length: int) -> str | None:
    """A string field of 1 to ``max_length`` storable characters, or None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadParameter(name, f"{name} must be a string")
    if not value.strip() or len(value) > max_length or "\x00" in value or not _utf8(value):
        raise BadParameter(name, f"{name} must be 1 to {max_length} characters of text")
    return value


def _utf8(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
