"""The ingest endpoint: HTTP → verify → normalise → store → enqueue, nothing else."""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.errors import BadPayload, StorageUnavailable
from service.inbound import InboundEmail
from service.ingest.auth import authenticate, check_ip, client_ip, secret_from_request
from service.ingest.body import read_body
from service.providers import Delivery, InboundProvider, get_provider
from service.state import AppState

# The bytes JSONResponse would render (its json.dumps arguments), from one encoder built once:
# json.dumps with non-default arguments builds a new encoder on every call.
_ACCEPTED_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))

# Bodies above this are normalised in a thread so one huge delivery cannot stall the event loop.
_INLINE_PARSE_LIMIT = 256 * 1024


async def receive(request: Request) -> Response:
    """Accept one delivery from a provider.
    ---
    summary: Deliver an inbound email (provider webhook)
    description: >
      The source's provider decides how the body is read. The secret is the last path segment,
      or the HTTP Basic password on /hooks/{source}. 200 means durably stored.
    parameters:
      - {name: source, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "Stored (or a duplicate of a stored delivery): {status, messages: [{id, duplicate}]}"}
      400: {description: "Malformed body or not the provider's shape: {error, message, details?}"}
      401: {description: Unknown source, wrong secret or bad signature}
      403: {description: Caller address not in the source's allow-list}
      413: {description: Body over the size limit}
      415: {description: Content type the provider does not send}
      503: {description: Storage unavailable; retry later}
    """
    state: AppState = request.app.state.mailhook
    config = state.config.current
    source = authenticate(config, request.path_params["source"], secret_from_request(request))
    check_ip(source, client_ip(request, [*state.settings.trusted_proxies, *config.trusted_proxies]))
    body = await read_body(request, source.max_body_bytes or state.settings.max_body_bytes)
    delivery = Delivery(
        source=source,
        body=body,
        headers=request.headers,
        query=request.query_params,
        remote_ip=request.client.host if request.client else None,
    )
    provider = get_provider(source.provider)
    emails = await _normalise(provider, delivery)
    await provider.check_replay(delivery, state.ingest.nonces)
    try:
        results = await state.ingest.store(emails)
    except StorageUnavailable:
        await provider.release_replay(delivery, state.ingest.nonces)
        raise
    body = {"status": "accepted", "messages": [{"id": r.message_id, "duplicate": r.duplicate} for r in results]}
    return Response(_ACCEPTED_JSON.encode(body).encode(), provider.success_status, media_type="application/json")


async def _normalise(provider: InboundProvider, delivery: Delivery) -> list[InboundEmail]:
    if len(delivery.body) <= _INLINE_PARSE_LIMIT:
        emails = _verified_parse(provider, delivery)
    else:
        emails = await asyncio.to_thread(_verified_parse, provider, delivery)
    if not emails:
        raise BadPayload("the delivery contained no message")
    return emails


def _verified_parse(provider: InboundProvider, delivery: Delivery) -> list[InboundEmail]:
    provider.verify(delivery)
    return provider.parse(delivery)


async def probe(request: Request) -> Response:
    """Providers probe hook URLs with GET/HEAD before saving them: answer 200, do nothing.
    ---
    summary: Probe a hook URL
    responses:
      200: {description: Always; no side effect}
    """
    return JSONResponse({"status": "ok"})
