"""``GET /api/v1/messages/{id}/raw`` and ``…/attachments/{n}``: stored bytes, streamed from the
blob store, always as downloads.

Attachment names and types come from the sender. They are never trusted as they are: the type
must look like a media type (else ``application/octet-stream``), the name is reduced to its last
path segment and sent both as an ASCII ``filename`` and as RFC 6266/5987 ``filename*``, and
``X-Content-Type-Options: nosniff`` with ``Content-Disposition: attachment`` keeps a browser
from rendering an HTML "attachment" in our origin.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from service.api import spec
from service.api.messages import message_answer
from service.errors import NotFound
from service.store.messages import get_message, get_raw
from service.store.parts import message_with_attachments
from service.web.state import AppState

_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"\r\n\\]*\"))*")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()+,=@-]")


def safe_media_type(value: str | None) -> str:
    return value if value and len(value) <= 255 and _MEDIA_TYPE.fullmatch(value) else "application/octet-stream"


def content_disposition(filename: str | None, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and, for any other name, ``filename*`` (RFC 6266)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".") or fallback
    ascii_name = _UNSAFE_NAME.sub("_", name)[:200] or fallback
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name[:200], safe='')}"
    return header


def _download_headers(filename: str | None, fallback: str) -> dict[str, str]:
    return {"Content-Disposition": content_disposition(filename, fallback), "X-Content-Type-Options": "nosniff"}


def raw_download(state: AppState, mid: str) -> Response | None:
    """The message's raw MIME (or provider payload) as a download, ``None`` if there is no such message."""
    with Session(state.ingest.engine) as session:
        message = get_message(session, mid)
        if message is None:
            return None
        sha = message.raw_mime_sha256
        stored = get_raw(session, mid) if sha is None else None
    if sha is not None:
        path = state.ingest.blobs.path(sha)
        if not os.path.exists(path):
            raise NotFound(f"the raw MIME of message {mid} is missing from the blob store")
        return FileResponse(path, media_type="message/rfc822", headers=_download_headers(f"{mid}.eml", "raw.eml"))
    if stored is None:
        raise NotFound(f"message {mid} kept no raw payload")
    headers = _download_headers(None, f"{mid}.raw")
    return Response(stored.content(), media_type=safe_media_type(stored.content_type), headers=headers)


_BYTES = {"description": "", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


@spec.documented(
    {
        "summary": "The message as received: raw MIME, or the provider's payload (secrets stripped at ingest)",
        "security": spec.SECURITY,
        "parameters": [spec.ID_PARAMETER],
        "responses": spec.responses({"200": {**_BYTES, "description": "message/rfc822, or the payload's type"}}),
    }
)
async def raw(request: Request) -> Response:
    return await message_answer(request, raw_download)


def attachment_download(state: AppState, mid: str, position: int) -> Response | None:
    """Attachment ``position`` of the message as a download, ``None`` if there is no such message."""
    found = message_with_attachments(state.ingest.engine, mid)
    if found is None:
        return None
    message, attachments = found
    rows = [row for row in attachments if row.position == position]
    if state.content.unhydrated(message):  # the worker has not stored its parts yet: parse them
        item: dict[str, Any] | None = state.content.parsed_attachment(message, position)
        if item is None:
            raise NotFound(f"message {mid} has no attachment {position}")
        headers = _download_headers(item.get("filename"), f"attachment-{position}")
        return Response(item.get("data", b""), media_type=safe_media_type(item.get("content_type")), headers=headers)
    if not rows:
        raise NotFound(f"message {mid} has no attachment {position}")
    row = rows[0]
    path = state.ingest.blobs.path(row.sha256)
    if not os.path.exists(path):
        raise NotFound(f"attachment {position} of message {mid} is missing from the blob store")
    headers = _download_headers(row.filename, f"attachment-{position}")
    return FileResponse(path, media_type=safe_media_type(row.content_type), headers=headers)


@spec.documented(
    {
        "summary": "One attachment's bytes (position n of the message's attachment list), as a download",
        "security": spec.SECURITY,
        "parameters": [
            spec.ID_PARAMETER,
            {"name": "n", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        ],
        "responses": spec.responses({"200": {**_BYTES, "description": "The stored content type"}}),
    }
)
async def attachment(request: Request) -> Response:
    position = int(request.path_params["n"])
    return await message_answer(request, lambda state, mid: attachment_download(state, mid, position))
