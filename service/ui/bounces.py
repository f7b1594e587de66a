"""Bounces and the suppression list: recorded bounce events (provider webhooks, pulled provider
logs, bounce mail) newest first, and the addresses Mailhook will not forward to, which admins
may remove (or add by hand).

Both read and write through the bounce store's own functions (``service.store.bounces``,
``service.store.suppressions``), as ``mailhook bounces`` and ``mailhook suppressions`` do.
"""

from __future__ import annotations

import asyncio
import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.api.params import ADDRESS_PATTERN
from service.mail.bounce import KINDS
from service.store.bounces import list_bounces
from service.store.suppressions import add_suppression, list_suppressions, remove_suppression
from service.store.tokens import Scope
from service.ui.errors import BadRequest, PageNotFound
from service.ui.pages import PAGE_HEADERS, render
from service.ui.session import app_state, checked_form, require_session

BOUNCE_PAGE = 100
SUPPRESSION_PAGE = 500
_ADDRESS = re.compile(ADDRESS_PATTERN)
_MAX_REASON = 500


def _filter(request: Request, name: str, limit: int = 320) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    return value[:limit] or None


async def bounces(request: Request) -> Response:
    session = await require_session(request)
    recipient, source = _filter(request, "recipient"), _filter(request, "source", 64)
    kind = _filter(request, "kind")
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    engine = app_state(request).ingest.engine
    rows = await asyncio.to_thread(
        list_bounces, engine, recipient=recipient, kind=kind, source=source, limit=BOUNCE_PAGE
    )
    context = {
        "session": session,
        "csrf": session.csrf,
        "nav": "bounces",
        "rows": rows,
        "kinds": KINDS,
        "filters": {"recipient": recipient or "", "kind": kind or "", "source": source or ""},
        "limit": BOUNCE_PAGE,
    }
    return render(request, "bounces.html", context)


async def suppressions(request: Request) -> Response:
    session = await require_session(request)
    everything = request.query_params.get("all") == "1"
    engine = app_state(request).ingest.engine
    entries = await asyncio.to_thread(list_suppressions, engine, include_expired=everything, limit=SUPPRESSION_PAGE)
    context = {
        "session": session,
        "csrf": session.csrf,
        "nav": "suppressions",
        "entries": entries,
        "everything": everything,
        "admin": session.allows(Scope.admin),
        "notice": request.query_params.get("notice"),
    }
    return render(request, "suppressions.html", context)


def _address(value: object) -> str:
    address = str(value or "").strip()
    if not _ADDRESS.fullmatch(address):
        raise BadRequest("give one email address, like someone@example.com")
    return address


async def remove(request: Request) -> Response:
    session = await require_session(request, Scope.admin)
    form = await checked_form(request, session)
    address = _address(form.get("address"))
    if not await asyncio.to_thread(remove_suppression, app_state(request).ingest.engine, address):
        raise PageNotFound(f"{address} is not on the suppression list")
    return RedirectResponse("/ui/suppressions?notice=removed", 303, headers=PAGE_HEADERS)


async def add(request: Request) -> Response:
    session = await require_session(request, Scope.admin)
    form = await checked_form(request, session)
    address = _address(form.get("address"))
    reason = str(form.get("reason") or "").strip()[:_MAX_REASON] or f"added in the web inbox by {session.token_name}"
    await asyncio.to_thread(add_suppression, app_state(request).ingest.engine, address, reason=reason, source="ui")
    return RedirectResponse("/ui/suppressions?notice=added", 303, headers=PAGE_HEADERS)
