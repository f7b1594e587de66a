"""The JSON shapes of the read API (the contract in PLAN.md, documented in ``spec.py``):
``summary`` for list items and waits, ``detail`` for one message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.api.content import Body, Extracted
from service.mail.recipients import recipients
from service.moments import as_utc
from service.store.models import Attachment, Message, PipelineRun, StepRun


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``; SQLite returns stored UTC datetimes without an offset."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def recipient(message: Message) -> str | None:
    """The address the mail was for, by the one rule (``service.mail.recipients``: envelope, else To,
    else Cc); the first of them."""
    found = recipients(message.envelope_to, message.to, message.cc)
    return found[0] if found else None


def _addresses(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": item.get("name"), "address": item.get("address")} for item in items if isinstance(item, dict)]


def summary(message: Message, extracted: Extracted) -> dict[str, Any]:
    sender = {"name": message.from_name, "address": message.from_address} if message.from_address else None
    return {
        "id": message.id,
        "received_at": iso(message.received_at),
        "source": message.source,
        "provider": message.provider,
        "envelope_from": message.envelope_from,
        "envelope_to": list(message.envelope_to),
        "from": sender,
        "to": _addresses(message.to),
        "cc": _addresses(message.cc),
        "recipient": recipient(message),
        "subject": message.subject,
        "status": message.status,
        "code": extracted.code,
        "links": list(extracted.links),
    }


def _attachment_rows(rows: list[Attachment]) -> list[dict[str, Any]]:
    return [
        {
            "position": row.position,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "content_id": row.content_id,
            "disposition": row.disposition,
        }
        for row in rows
    ]


def _parsed_attachments(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "position": position,
            "filename": item.get("filename"),
            "content_type": item.get("content_type") or "application/octet-stream",
            "size": item.get("size") or 0,
            "content_id": item.get("content_id"),
            "disposition": item.get("disposition") or "attachment",
        }
        for position, item in enumerate(items)
    ]


def _step(step: StepRun) -> dict[str, Any]:
    return {
        "position": step.position,
        "name": step.name,
        "status": step.status,
        "attempts": step.attempts,
        "error": step.error,
        "output": step.output,
    }


def _run(run: PipelineRun, steps: list[StepRun]) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "route": run.route,
        "status": run.status,
        "error": run.error,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "steps": [_step(step) for step in steps],
    }


def detail(
    message: Message,
    body: Body,
    extracted: Extracted,
    attachments: list[Attachment],
    runs: list[tuple[PipelineRun, list[StepRun]]],
    bounce: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        **summary(message, extracted),
        "text": body.text,
        "html": body.html,
        "headers": [[str(k), str(v)] for k, v in message.headers],
        "attachments": _parsed_attachments(body.attachments)
        if body.attachments is not None
        else _attachment_rows(attachments),
        "auth": dict(message.auth),
        "defects": list(body.defects),
        "bounce": bounce,
        "runs": [_run(run, steps) for run, steps in runs],
    }
