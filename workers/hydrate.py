"""Filling in text, HTML and attachments of raw-MIME messages before routing (``parse_mime``,
the same decoder the ``parse`` step uses), and reading every message as a possible bounce.

HTTP JSON providers deliver parsed fields; raw and SMTP sources store only headers at ingest (so
a 25 MB message is not parsed while the sender waits). The first job for such a message parses
it once and stores the result with the job's first recorded run, so routes, steps and the inbox
all see the same fields whatever the source. Small messages are read and parsed inline (a thread
hand-off costs more than the parse); large ones in a thread with a time bound.

The same pass classifies the mail (``workers.bouncemail``): the raw MIME when there is one, else
MIME rebuilt from the provider's fields. A bounce is written with the hydrated fields (the
``bounce`` column, one bounce event per recipient); a provider message that is not a bounce
writes nothing, and is read again by a replay (the pre-check makes that cheap).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Connection

from service.mail.inbound import InboundAttachment
from service.mail.storable import scrub
from service.mime.body import parse_mime
from service.store.blobs import BlobStore
from service.store.messages import ParsedFields, mark_bounce, put_attachments, save_parsed
from service.store.models import Attachment, Message, utcnow
from workers.bouncemail import BounceWrite, find_bounce, find_bounce_in_fields, recorder
from workers.pipeline.engine import JobRun

log = logging.getLogger("mailhook.hydrate")

PARSE_TIMEOUT_S = 20.0
#: Raw MIME up to this size is read and parsed on the event loop: a few milliseconds at most.
INLINE_PARSE_BYTES = 64 * 1024


async def hydrate(job: JobRun) -> None:
    """Parse the job's raw MIME into its message and classify it (once); the row is written with
    the first run. Messages without raw MIME are classified from their fields."""
    message = job.message
    if message.parsed_at is not None:
        return
    if message.raw_mime_sha256 is None:
        await _mark_bounce(job)
        return
    raw = await _read(job.deps.blobs, message)
    parsed = await _parse(raw)
    found = await find_bounce(raw)
    rows: list[dict[str, Any]] = []
    items = [_attachment(item) for item in parsed.get("attachments", [])]
    if items and not job.attachments:  # blob writes fsync: off the event loop
        rows = await asyncio.to_thread(put_attachments, job.deps.blobs, message.id, items)
        job.attachments = [Attachment(**row) for row in rows]
    values: ParsedFields = {
        # A body may hold NUL (decoded from 8-bit or binary parts): PostgreSQL text refuses it.
        "text": scrub(parsed.get("text")),
        "html": scrub(parsed.get("html")),
        "defects": _merged(message.defects, [*parsed.get("defects", []), *found.defects]),
        "parsed_at": utcnow(),
        "bounce": found.value,
    }
    for key, value in values.items():
        setattr(message, key, value)
    record = recorder(message, found, job.deps.config.current.suppression)

    def write(conn: Connection) -> None:
        save_parsed(conn, message.id, values, rows)
        _record(conn, record)

    job.pending.append(write)


async def _mark_bounce(job: JobRun) -> None:
    """A provider delivery without raw MIME: mark it when its fields read as a bounce."""
    message = job.message
    if message.bounce is not None:
        return  # marked by an earlier job; a replay changes nothing
    found = await find_bounce_in_fields(message, job.attachments, job.deps.blobs)
    defects = _merged(message.defects, list(found.defects))
    if found.report is None and defects == message.defects:
        return  # ordinary mail (or a defect an earlier job recorded already): nothing to write
    message.defects, message.bounce = defects, bounce = defects, found.value
    record = recorder(message, found, job.deps.config.current.suppression)

    def write(conn: Connection) -> None:
        mark_bounce(conn, message.id, defects=defects, bounce=bounce)
        _record(conn, record)

    job.pending.append(write)


async def _read(blobs: BlobStore, message: Message) -> bytes:
    sha = message.raw_mime_sha256
    assert sha is not None
    if (message.raw_mime_size or 0) <= INLINE_PARSE_BYTES:
        return blobs.read(sha)
    return await asyncio.to_thread(blobs.read, sha)


async def _parse(raw: bytes) -> dict[str, Any]:
    if len(raw) <= INLINE_PARSE_BYTES:
        return parse_mime(raw, with_data=True)
    try:
        return await asyncio.wait_for(asyncio.to_thread(parse_mime, raw, with_data=True), PARSE_TIMEOUT_S)
    except TimeoutError:
        # The thread cannot be killed and finishes in the background; the message goes on unparsed.
        return {"defects": ["parse_timeout"]}


def _attachment(item: dict[str, Any]) -> InboundAttachment:
    """``parse_mime``'s attachment (with ``data``) in the shape every ingest path stores."""
    return InboundAttachment(
        item["filename"], item["content_type"], item["data"], item["content_id"], item["disposition"]
    )


def _record(conn: Connection, record: BounceWrite | None) -> None:
    if record is not None:
        record(conn)


def _merged(first: list[str], second: list[str]) -> list[str]:
    """Ingest and parser may report the same defect; keep each once, in order."""
    return list(dict.fromkeys([*first, *second]))
