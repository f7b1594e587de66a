"""Filling in text, HTML and attachments of raw-MIME messages before routing (``parse_mime``,
the same decoder the ``parse`` step uses).

HTTP JSON providers deliver parsed fields; raw and SMTP sources store only headers at ingest (so
a 25 MB message is not parsed while the sender waits). The first job for such a message parses
it once, in a thread with a time bound, and stores the result, so routes, steps and the inbox
all see the same fields whatever the source.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert, update

from service.models import Attachment, Message, utcnow
from workers.deps import WorkerDeps
from workers.steps.mime_parse import parse_mime

log = logging.getLogger("mailhook.hydrate")

PARSE_TIMEOUT_S = 20.0


async def hydrate(deps: WorkerDeps, message: Message, attachments: list[Attachment]) -> list[Attachment]:
    """Parse ``message``'s raw MIME into its row (once); returns its attachment rows."""
    if message.raw_mime_sha256 is None or message.parsed_at is not None:
        return attachments
    raw = await asyncio.to_thread(deps.blobs.read, message.raw_mime_sha256)
    try:
        parsed = await asyncio.wait_for(asyncio.to_thread(parse_mime, raw, with_data=True), PARSE_TIMEOUT_S)
    except TimeoutError:
        # The thread cannot be killed and finishes in the background; the message goes on unparsed.
        parsed = {"defects": ["parse_timeout"]}
    rows = await asyncio.to_thread(_store, deps, message, parsed, keep_attachments=bool(attachments))
    message.text, message.html = parsed.get("text"), parsed.get("html")
    message.defects = _merged(message.defects, parsed.get("defects", []))
    message.parsed_at = utcnow()
    return attachments or rows


def _store(deps: WorkerDeps, message: Message, parsed: dict[str, Any], *, keep_attachments: bool) -> list[Attachment]:
    rows: list[Attachment] = []
    if not keep_attachments:
        for position, item in enumerate(parsed.get("attachments", [])):
            data: bytes = item["data"]
            rows.append(
                Attachment(
                    message_id=message.id,
                    position=position,
                    filename=item["filename"],
                    content_type=item["content_type"],
                    size=len(data),
                    sha256=deps.blobs.put(data),
                    content_id=item["content_id"],
                    disposition=item["disposition"],
                )
            )
    values = {
        "text": parsed.get("text"),
        "html": parsed.get("html"),
        "defects": _merged(message.defects, parsed.get("defects", [])),
        "parsed_at": utcnow(),
    }
    with deps.engine.begin() as conn:
        conn.execute(update(Message).where(Message.id == message.id).values(**values))  # type: ignore[arg-type]
        if rows:
            conn.execute(insert(Attachment), [row.model_dump(exclude={"id"}) for row in rows])
    return rows


def _merged(first: list[str], second: list[str]) -> list[str]:
    """Ingest and parser may report the same defect; keep each once, in order."""
    return list(dict.fromkeys([*first, *second]))
