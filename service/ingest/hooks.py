"""The ingest endpoint: HTTP → verify → normalise → store → enqueue, nothing else.

Inbound-mail providers' emails go to the message store and the queue; bounce providers' events
go to the bounce store (which applies the suppression policy). Either way the provider's
success status means every item of the delivery is durably stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.api.spec import documented
from service.errors import BadPayload, StorageUnavailable
from service.ingest.auth import authenticate, check_ip, client_ip, secret_from_request
from service.ingest.body import read_body
from service.ingest.hookdoc import PROBE, RECEIVE
from service.providers import BounceProvider, Delivery, InboundProvider, Provider, get_provider
from service.web.state import AppState

T = TypeVar("T")

# The bytes JSONResponse would render (its json.dumps arguments), from one encoder built once:
# json.dumps with non-default arguments builds a new encoder on every call.
_ACCEPTED_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))

# Bodies above this are normalised in a thread so one huge delivery cannot stall the event loop.
_INLINE_PARSE_LIMIT = 256 * 1024


@documented(RECEIVE)
async def receive(request: Request) -> Response:
    """Accept one delivery from a provider (documented in ``hookdoc``)."""
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
    await _off_loop(delivery, provider.verify)
    handshake = await provider.verify_remote(delivery, state.providers)
    if handshake is not None:
        return _json(handshake.body, provider.success_status)
    if isinstance(provider, BounceProvider):
        return await _store_bounces(state, provider, delivery)
    assert isinstance(provider, InboundProvider)
    emails = await _off_loop(delivery, provider.parse)
    if not emails:
        raise BadPayload("the delivery contained no message")
    results = await _stored(provider, delivery, state, lambda: state.ingest.store(emails))
    answer = {"status": "accepted", "messages": [{"id": r.message_id, "duplicate": r.duplicate} for r in results]}
    return _json(answer, provider.success_status)


async def _store_bounces(state: AppState, provider: BounceProvider, delivery: Delivery) -> Response:
    """A batch is stored whole or not at all; an empty one (only events the model does not
    record, such as deliveries and opens) is acknowledged so the provider does not retry it."""
    events = await _off_loop(delivery, provider.parse)
    policy = state.config.current.suppression
    results = await _stored(provider, delivery, state, lambda: state.ingest.store_bounces(events, policy))
    status = "accepted" if results else "ignored"
    return _json(
        {"status": status, "events": [{"id": r.id, "duplicate": r.duplicate} for r in results]}, provider.success_status
    )


async def _stored(provider: Provider, delivery: Delivery, state: AppState, store: Callable[[], Any]) -> Any:
    """Run ``store`` after the replay check, undoing the check if storage failed (the
    provider's retry may carry the same one-time token)."""
    await provider.check_replay(delivery, state.ingest.nonces)
    try:
        return await store()
    except StorageUnavailable:
        await provider.release_replay(delivery, state.ingest.nonces)
        raise


async def _off_loop(delivery: Delivery, work: Callable[[Delivery], T]) -> T:
    """Small bodies inline; large ones in a thread so one huge delivery cannot stall the loop."""
    if len(delivery.body) <= _INLINE_PARSE_LIMIT:
        return work(delivery)
    return await asyncio.to_thread(work, delivery)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(_ACCEPTED_JSON.encode(body).encode(), status, media_type="application/json")


@documented(PROBE)
async def probe(request: Request) -> Response:
    """Providers probe hook URLs with GET/HEAD before saving them: answer 200, do nothing."""
    return JSONResponse({"status": "ok"})
