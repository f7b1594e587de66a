"""``/api/v1/suppressions``: the addresses ``forward_smtp`` (and address-bound ``forward_http``)
skip, and why. Listing needs read; adding and removing entries need admin, as they change where
mail goes (the same functions as ``mailhook suppressions``).

Addresses compare lower-cased whole (``service.store.suppressions``), so ``Ada@X`` and ``ada@x``
are one entry. Adding replaces any entry the address has: a person saying "suppress this, for
this reason, until then" means exactly that.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api import spec
from service.api.auth import authorize
from service.api.bodies import json_fields, text_field
from service.api.keyset import keyset_page
from service.api.params import Query, checked_address
from service.errors import BadParameter, NotFound
from service.moments import as_utc
from service.store.suppressions import (
    Suppressed,
    add_suppression,
    list_suppressions,
    normalise_address,
    remove_suppression,
)
from service.store.tokens import Scope
from service.web.state import AppState

_PARAMS = ("address", "include_expired", "cursor", "limit")
_FIELDS = ("address", "reason", "expires_at")
_REASON_MAX = 500
_ADDRESS_MAX = 320
_DEFAULT_REASON = "added through the API"
_ENTRY_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Suppression"}}}
_ADDRESS_PARAMETER = {
    "name": "address",
    "in": "path",
    "required": True,
    "description": "The suppressed address (any case)",
    "schema": spec.ADDRESS,
}


def _address(value: object, name: str = "address") -> str:
    """The address as the list keeps it (lower-cased), within the column's length."""
    address = normalise_address(checked_address(value, name))
    if len(address) > _ADDRESS_MAX:  # lower-casing lengthens a few characters
        raise BadParameter(name, f"{name} must be at most {_ADDRESS_MAX} characters")
    return address


def _expiry(value: object) -> datetime | None:
    """A future ISO 8601 time: an entry that has already expired would suppress nothing."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None:
            moment = as_utc(moment)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise BadParameter("expires_at", "expires_at must be an ISO 8601 time like 2030-01-31T00:00:00Z")
    if moment <= datetime.now(UTC):
        raise BadParameter("expires_at", "expires_at must be in the future (omit it to suppress until removed)")
    return moment


@spec.documented(
    {
        "summary": "List suppressed addresses and why, newest first",
        "description": "Entries in force, unless `include_expired=true`. Pass `next_cursor` back as `cursor`.",
        "security": spec.SECURITY,
        "parameters": [
            spec.query("address", "Only this address's entry (any case)", spec.ADDRESS),
            spec.query("include_expired", "Also entries whose expires_at has passed", {"type": "boolean"}),
            *spec.paging(spec.KEYSET),
        ],
        "responses": spec.responses({"200": spec.JSON("SuppressionPage", "A page of entries")}, found=False),
    }
)
async def list_all(request: Request) -> Response:
    return await keyset_page(
        request, _PARAMS, _filters, list_suppressions, key=lambda row: (row.since, row.id), view=Suppressed.as_dict
    )


def _filters(q: Query) -> dict[str, Any]:
    given = q.address("address")
    return {"address": given.address if given else None, "include_expired": q.flag("include_expired")}


@spec.documented(
    {
        "summary": "Suppress an address (replacing any entry it has)",
        "security": spec.SECURITY,
        "requestBody": spec.json_body(
            ["address"],
            {
                "address": spec.ADDRESS,
                "reason": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": _REASON_MAX,
                    "description": f"Why (shown in step outputs); default {_DEFAULT_REASON!r}",
                },
                "expires_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the entry stops applying (future); default never",
                },
            },
        ),
        "responses": spec.responses(
            {"201": {"description": "Suppressed", "content": _ENTRY_JSON}},
            admin=True,
            found=False,
            extra={"400": spec.JSON("Error", "A field is unknown or malformed (details.parameter names it)")},
        ),
    }
)
async def create(request: Request) -> Response:
    await authorize(request, Scope.admin)
    Query(request.query_params, ())
    data = await json_fields(request, _FIELDS, example='{"address": "ada@example.com"}')
    if "address" not in data:
        raise BadParameter("address", "address is required: the address to suppress")
    address = _address(data["address"])
    reason = text_field(data, "reason", max_length=_REASON_MAX) or _DEFAULT_REASON
    expires_at = _expiry(data.get("expires_at"))
    state: AppState = request.app.state.mailhook
    entry = await asyncio.to_thread(
        add_suppression, state.ingest.engine, address, reason=reason, source="api", expires_at=expires_at
    )
    return JSONResponse(entry.as_dict(), 201)


@spec.documented(
    {
        "summary": "Stop suppressing an address",
        "security": spec.SECURITY,
        "parameters": [_ADDRESS_PARAMETER],
        "responses": spec.responses(
            {"204": {"description": "Removed"}}, admin=True, found="The address is not on the suppression list"
        ),
    }
)
async def delete(request: Request) -> Response:
    await authorize(request, Scope.admin)
    Query(request.query_params, ())
    address = _address(str(request.path_params["address"]))
    state: AppState = request.app.state.mailhook
    if not await asyncio.to_thread(remove_suppression, state.ingest.engine, address):
        raise NotFound(f"{address} is not on the suppression list")
    return Response(status_code=204)
