"""``/api/v1/addresses``: make, list and remove addresses at forwarding providers that deliver
here (``service.addresses.service`` does the work, shared with ``mailhook addresses``).

Creating and removing need the admin scope (they act on provider accounts); listing needs read.
Provider failures are 502 (the provider or our account with it is the problem, not the caller's
request), a provider's rate limit is 503 with its ``Retry-After``.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.addresses.base import AddressError, ProviderRateLimited
from service.addresses.service import (
    AddressNotFound,
    InvalidAddressRequest,
    UnknownAccount,
    create_address,
    delete_address,
    list_addresses,
)
from service.api import spec
from service.api.auth import authorize
from service.api.bodies import json_fields
from service.api.params import Query, checked_address
from service.errors import BadParameter, MailhookError, NotFound, ProviderFailed, StorageUnavailable
from service.store.tokens import Scope
from service.web.state import AppState

_FIELDS = ("via", "local_part", "domain")


def _api_error(exc: AddressError) -> MailhookError:
    if isinstance(exc, InvalidAddressRequest):
        return BadParameter(exc.parameter, str(exc))
    if isinstance(exc, UnknownAccount):
        return BadParameter("via", str(exc))
    if isinstance(exc, AddressNotFound):
        return NotFound(str(exc))
    if isinstance(exc, ProviderRateLimited):
        wait = f"{max(1, round(exc.retry_after))}" if exc.retry_after else "60"
        return StorageUnavailable(str(exc), headers={"Retry-After": wait})
    return ProviderFailed(str(exc))


async def _body(request: Request) -> dict[str, str]:
    data = await json_fields(request, _FIELDS, example='{"via": "improvmx"}')
    for key, value in data.items():
        if not isinstance(value, str):
            raise BadParameter(key, f"{key} must be a string")
    if not data.get("via"):
        raise BadParameter("via", "via is required: the address account (or provider) to make it with")
    return data


_ADDRESS = {
    "type": "object",
    "required": ["address", "via", "provider_ref", "created_at"],
    "properties": {
        "address": {"type": "string"},
        "via": {"type": "string"},
        "provider_ref": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}
_ADDRESS_JSON = {"application/json": {"schema": _ADDRESS}}
_PROVIDER_ERRORS = {
    "502": spec.JSON("Error", "The provider refused or failed"),
    "503": spec.JSON("Error", "The provider rate-limits us (Retry-After), or the store is unavailable"),
}


@spec.documented(
    {
        "summary": "Make an address at a forwarding provider that delivers to this Mailhook",
        "security": spec.SECURITY,
        "requestBody": spec.json_body(
            ["via"],
            {
                "via": {"type": "string", "description": "address account name, or its provider"},
                "local_part": {"type": "string"},
                "domain": {"type": "string"},
            },
        ),
        "responses": spec.responses(
            {"201": {"description": "Made", "content": _ADDRESS_JSON}}, admin=True, found=False, extra=_PROVIDER_ERRORS
        ),
    }
)
async def create(request: Request) -> Response:
    await authorize(request, Scope.admin)
    Query(request.query_params, ())
    body = await _body(request)
    state: AppState = request.app.state.mailhook
    try:
        async with httpx.AsyncClient() as http:
            record = await create_address(
                state.config.current,
                state.ingest.engine,
                http,
                via=body["via"],
                local_part=body.get("local_part"),
                domain=body.get("domain"),
            )
    except AddressError as exc:
        raise _api_error(exc) from None
    return JSONResponse(record.as_dict(), 201)


@spec.documented(
    {
        "summary": "Addresses this Mailhook made (newest first)",
        "security": spec.SECURITY,
        "parameters": [spec.query("via", "Only those of this address account (or provider)")],
        "responses": spec.responses(
            {
                "200": {
                    "description": "The addresses",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array", "items": _ADDRESS}},
                            }
                        }
                    },
                }
            },
            found=False,
        ),
    }
)
async def list_all(request: Request) -> Response:
    await authorize(request, Scope.read)
    via = Query(request.query_params, ("via",)).text("via")
    state: AppState = request.app.state.mailhook
    try:
        records = await list_addresses(state.config.current, state.ingest.engine, via=via)
    except AddressError as exc:
        raise _api_error(exc) from None
    return JSONResponse({"items": [record.as_dict() for record in records]})


@spec.documented(
    {
        "summary": "Remove an address at its provider and forget it",
        "security": spec.SECURITY,
        "parameters": [
            {"name": "address", "in": "path", "required": True, "schema": spec.ADDRESS},
            spec.query("via", "The account to look in, for an address this Mailhook did not make"),
        ],
        "responses": spec.responses(
            {"204": {"description": "Removed"}},
            admin=True,
            extra={"404": spec.JSON("Error", "No such address here (or at the named account)"), **_PROVIDER_ERRORS},
        ),
    }
)
async def delete(request: Request) -> Response:
    await authorize(request, Scope.admin)
    via = Query(request.query_params, ("via",)).text("via")
    address = checked_address(str(request.path_params["address"]), "address")
    state: AppState = request.app.state.mailhook
    try:
        async with httpx.AsyncClient() as http:
            await delete_address(state.config.current, state.ingest.engine, http, address, via=via)
    except AddressError as exc:
        raise _api_error(exc) from None
    return Response(status_code=204)
