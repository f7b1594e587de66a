"""A message's stored bytes in the UI: its HTML for the sandboxed frame, its raw source and its
attachments as downloads.

``GET /ui/messages/{id}/body`` answers with the sanitized HTML (``service.ui.htmlsafe``) under
``BODY_CSP``: nothing may load but inline styles and ``data:`` images (``?remote=1``, asked for
by the viewer's click, also allows http(s) images, styles and fonts), no script at all, no form,
no ``<base>``, framed only by our own pages, and sandboxed by the CSP itself, so the document is
inert even when opened on its own rather than in the message page's ``<iframe sandbox>``.

Downloads reuse the read API's responses (``service.api.files``): ``Content-Disposition:
attachment`` with a cleaned file name, a checked media type and ``nosniff``, plus a ``sandbox``
CSP here in case a browser renders one anyway.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service.api.content import Body
from service.api.files import attachment_download, raw_download
from service.api.params import CURSOR_PATTERN
from service.errors import NotFound
from service.store import reads
from service.store.messages import get_raw, list_attachments
from service.store.models import Message
from service.ui.errors import PageNotFound
from service.ui.htmlsafe import MAX_INLINE_IMAGE, document, sanitize
from service.ui.pages import with_page_headers
from service.ui.session import app_state, require_session
from service.web.state import AppState

log = logging.getLogger("mailhook.ui")

_ID = re.compile(CURSOR_PATTERN)
_BASE_CSP = [
    "default-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    "sandbox allow-popups allow-popups-to-escape-sandbox",
]
BODY_CSP = "; ".join([*_BASE_CSP, "img-src data:", "style-src 'unsafe-inline'", "font-src data:"])
REMOTE_BODY_CSP = "; ".join(
    [*_BASE_CSP, "img-src data: http: https:", "style-src 'unsafe-inline' http: https:", "font-src data: http: https:"]
)
DOWNLOAD_CSP = "default-src 'none'; sandbox"
#: The source view shows at most this much inline; the download has it all.
SOURCE_PREVIEW = 256 * 1024


def message_id(request: Request) -> str:
    value = str(request.path_params["id"]).lower()
    if not _ID.fullmatch(value):
        raise PageNotFound("no such message")
    return value


def load_message(state: AppState, mid: str) -> Message:
    message = reads.load_message(state.ingest.engine, mid)
    if message is None:
        raise PageNotFound(f"no message with id {mid}")
    return message


def _inline_image(state: AppState, message: Message, body: Body, content_id: str) -> tuple[str, bytes] | None:
    """A ``cid:`` image's type and bytes: from the raw MIME when the worker has not parsed it yet
    (``body.attachments`` is then the parsed list), else from the attachment rows and blob store."""
    if body.attachments is not None:
        for position, item in enumerate(body.attachments):
            if (item.get("content_id") or "").strip("<>") == content_id:
                found = state.content.parsed_attachment(message, position) or {}
                return str(item.get("content_type") or ""), bytes(found.get("data") or b"")
        return None
    with Session(state.ingest.engine) as session:
        rows = list_attachments(session, message.id)
    for row in rows:
        if (row.content_id or "").strip("<>") == content_id and row.size <= MAX_INLINE_IMAGE:
            try:
                return row.content_type, state.ingest.blobs.read(row.sha256)
            except OSError as exc:
                log.warning("inline image of message %s unreadable: %s", message.id, type(exc).__name__)
    return None


def render_body(state: AppState, mid: str, *, remote: bool) -> str:
    message = load_message(state, mid)
    body = state.content.body(message)  # parses the raw MIME (once) when the worker has not yet
    if not body.html:
        return document("<p><em>This message has no HTML part.</em></p>")
    return document(sanitize(body.html, remote=remote, inline=lambda cid: _inline_image(state, message, body, cid)))


async def html_body(request: Request) -> Response:
    await require_session(request)
    mid = message_id(request)
    remote = request.query_params.get("remote") == "1"
    html = await asyncio.to_thread(render_body, app_state(request), mid, remote=remote)
    headers = {
        "Content-Security-Policy": REMOTE_BODY_CSP if remote else BODY_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    return HTMLResponse(html, headers=headers)


def source_preview(state: AppState, message: Message) -> tuple[str, bool]:
    """The message as received, decoded for reading (at most ``SOURCE_PREVIEW`` bytes), and
    whether it was cut short."""
    data = b""
    try:
        if message.raw_mime_sha256:
            with state.ingest.blobs.path(message.raw_mime_sha256).open("rb") as handle:
                data = handle.read(SOURCE_PREVIEW + 1)
        else:
            with Session(state.ingest.engine) as session:
                stored = get_raw(session, message.id)
            data = stored.content()[: SOURCE_PREVIEW + 1] if stored else b""
    except OSError as exc:
        log.warning("raw source of message %s unreadable: %s", message.id, type(exc).__name__)
        return "(the stored source is missing)", False
    return data[:SOURCE_PREVIEW].decode("utf-8", "replace"), len(data) > SOURCE_PREVIEW


def _download(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return with_page_headers(response)


async def _downloaded(make: Callable[..., Response | None], *args: Any) -> Response:
    try:
        response = await asyncio.to_thread(make, *args)
    except NotFound as exc:  # the API's "not found", as a page
        raise PageNotFound(exc.message) from None
    if response is None:
        raise PageNotFound("no such message")
    return _download(response)


async def raw(request: Request) -> Response:
    await require_session(request)
    return await _downloaded(raw_download, app_state(request), message_id(request))


async def attachment(request: Request) -> Response:
    await require_session(request)
    n = int(request.path_params["n"])
    return await _downloaded(attachment_download, app_state(request), message_id(request), n)
