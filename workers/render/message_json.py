"""The normalized message JSON: what ``forward_http`` posts, templates see and ``python`` receives.

One shape whatever the provider or SMTP delivered, so receivers write one handler. Every key
is always present (``null`` / ``[]`` when unknown) so receivers never need ``.get`` guards.
Body fields prefer the ``parse`` step's output (decoded from raw MIME) over the stored row,
and ``code`` / ``links`` / ``tags`` come from the ``extract_otp``, ``extract_links`` and
``tag`` steps when they ran earlier in the pipeline.

Shape::

    {"id", "source", "provider", "received_at",
     "envelope": {"from", "to": [...]},
     "from": {"name", "address"} | null, "to": [{"name", "address"}], "cc": [...], "reply_to": [...],
     "bcc": [...], "subject", "message_id", "date", "text", "html", "reply_text", "stripped_text",
     "headers": [[name, value], ...], "auth": {...}, "spam": {"flag", "score", ...},
     "attachments": [{"filename", "content_type", "size", "disposition", "content_id"}],
     "code", "links": [...], "tags": [...],
     "bounce": {"kind", "reason", "status", "reply_code", "recipients": [...], "diagnostic",
                "reporting_mta", "original_message_id"} | null}

``bounce`` is set when the worker read the mail as a bounce or complaint (``workers.bouncemail``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from service.moments import aware
from service.store.messages import list_attachments
from service.store.models import Attachment, Message
from workers.steps.base import StepContext


def iso(value: datetime | None) -> str | None:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    if value is None:
        return None
    return aware(value).isoformat()


def attachment_json(row: Attachment) -> dict[str, Any]:
    return {
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "disposition": row.disposition,
        "content_id": row.content_id,
    }


def stored_attachments(ctx: StepContext) -> list[dict[str, Any]]:
    """Attachment metadata the provider delivered separately. Uses the rows the job loaded;
    without them it queries (blocking: call in a thread)."""
    if ctx.attachments is not None:
        return [attachment_json(row) for row in ctx.attachments]
    with Session(ctx.deps.engine) as session:
        return [attachment_json(row) for row in list_attachments(session, ctx.message.id)]


def _output(outputs: Mapping[str, Any], step: str, key: str, default: Any) -> Any:
    found = outputs.get(step)
    return found.get(key, default) if isinstance(found, dict) else default


def message_json(message: Message, outputs: Mapping[str, Any], attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: the row plus earlier outputs into the documented shape."""
    parsed = outputs.get("parse") or {}
    sender = {"name": message.from_name, "address": message.from_address} if message.from_address else None
    return {
        "id": message.id,
        "source": message.source,
        "provider": message.provider,
        "received_at": iso(message.received_at),
        "envelope": {"from": message.envelope_from, "to": list(message.envelope_to)},
        "from": sender,
        "to": list(message.to),
        "cc": list(message.cc),
        "reply_to": list(message.reply_to),
        "bcc": list(message.bcc or []),
        "subject": message.subject if message.subject is not None else parsed.get("subject"),
        "message_id": message.message_id,
        "date": iso(message.date),
        "text": parsed.get("text", message.text),
        "html": parsed.get("html", message.html),
        "reply_text": parsed.get("reply_text"),
        # The provider's own reply extraction (Mailgun stripped-text, Postmark StrippedTextReply).
        "stripped_text": message.stripped_text,
        "headers": [list(pair) for pair in message.headers],
        "auth": dict(message.auth),
        "spam": dict(message.spam or {}),
        "attachments": attachments,
        "code": _output(outputs, "extract_otp", "code", None),
        "links": list(_output(outputs, "extract_links", "links", [])),
        "tags": list(_output(outputs, "tag", "tags", [])),
        "bounce": dict(message.bounce) if message.bounce is not None else None,
    }


async def build_message_json(ctx: StepContext) -> dict[str, Any]:
    """``message_json`` with attachments from ``parse`` when it ran, else from the database."""
    parsed = ctx.outputs.get("parse") or {}
    found = parsed.get("attachments")
    attachments: list[dict[str, Any]] = (
        found if isinstance(found, list) else await asyncio.to_thread(stored_attachments, ctx)
    )
    return message_json(ctx.message, ctx.outputs, attachments)
