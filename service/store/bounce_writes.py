"""Recording bounce events, from every source.

Sources are provider bounce webhooks (``service.providers``), pulled provider logs (the worker's
``bouncelogs`` cron) and bounce mail read by the classifier (``record_bounce_report``). Each row
is idempotent on ``(source, provider_event_id)``: the provider's event id where it has one, else
a sha256 of the event's identifying fields (``service.mail.bounce_rules.event_key``), so a provider's
redelivery or a re-pulled log page creates nothing new.

Recording an event applies the suppression policy in the same transaction: the answer that
says "stored" also means "the address is suppressed if it should be".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.config import SuppressionConfig
from service.mail.bounce import BounceReport
from service.mail.bounce_rules import clip, normalise_recipient, provider_key
from service.moments import as_utc
from service.store.bounces import BounceEvent, BounceEventCreate
from service.store.models import Message, PipelineRun, StepRun, utcnow
from service.store.suppressions import expiry, put_suppression

#: ``forward_smtp`` writes ``Resent-Message-ID: <{message id}.{16 hex}@domain>`` (workers.effects.resend).
_RESENT_ID = re.compile(r"^<?([0-9a-z]{26})\.[0-9a-f]{16}@", re.I)
#: Steps whose forwards a bounce can belong to.
_FORWARD_STEPS = ("forward_smtp",)


@dataclass(frozen=True, slots=True)
class RecordedBounce:
    id: int
    duplicate: bool


def record_events(
    bind: Engine | Connection,
    events: Sequence[BounceEventCreate],
    policy: SuppressionConfig,
    *,
    now: datetime | None = None,
) -> list[RecordedBounce]:
    """Store ``events`` in one transaction (all or none) and apply the suppression policy to the
    new ones; an event already stored maps to its row, marked ``duplicate``.

    Given a ``Connection`` already in a transaction (the worker's batched job writes), the events
    join that transaction: they commit with it, or not at all."""
    now = now or utcnow()
    results: list[RecordedBounce] = []
    with Session(bind) as session:
        seen: dict[tuple[str, str], int] = {}
        for event in events:
            key = (event.source, event.provider_event_id)
            if key in seen:
                results.append(RecordedBounce(seen[key], True))
                continue
            event_id = _insert(session, event, now)
            duplicate = event_id is None
            if event_id is None:
                event_id = _existing_id(session, event)
            else:
                _apply_policy(session, event, event_id, policy, now)
            seen[key] = event_id
            results.append(RecordedBounce(event_id, duplicate))
        session.commit()
    return results


def record_bounce_report(
    bind: Engine | Connection,
    report: BounceReport,
    *,
    source: str,
    message_id: str,
    policy: SuppressionConfig | None = None,
    occurred_at: datetime | None = None,
    forwarded_candidates: Sequence[str] = (),
) -> list[RecordedBounce]:
    """Record a bounce mail the classifier read (one event per recipient), linked to the stored
    mail ``message_id``. Re-running it for the same mail (a replay) creates nothing new.

    ``forwarded_candidates``: more Message-IDs that may name the forward that bounced (the
    ``Resent-Message-ID`` of the returned original), tried before its Message-ID."""
    when = occurred_at or utcnow()
    original = (report.original_message_id,) if report.original_message_id else ()
    candidates = tuple(dict.fromkeys([*forwarded_candidates, *original]))
    events = [
        BounceEventCreate(
            source=source,
            provider="mail",
            provider_event_id=provider_key(message_id, recipient.address.lower()),
            recipient=normalise_recipient(recipient.address),
            kind=recipient.kind,
            reason=recipient.reason,
            occurred_at=when,
            status=recipient.status,
            reply_code=recipient.reply_code,
            diagnostic=clip(recipient.diagnostic),
            reporting_mta=report.reporting_mta,
            original_message_id=report.original_message_id,
            message_id=message_id,
            forwarded_candidates=candidates,
        )
        for recipient in report.recipients
    ]
    return record_events(bind, events, policy or SuppressionConfig())


def _insert(session: Session, event: BounceEventCreate, now: datetime) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: None when the event is already stored
    (also when another process stored it a moment ago, which a SELECT first would miss)."""
    values = {
        "recipient": _text(event.recipient, 320),
        "kind": event.kind,
        "reason": event.reason,
        "status": _text(event.status, 32),
        "reply_code": event.reply_code,
        "diagnostic": clip(_text(event.diagnostic, 100_000)),
        "reporting_mta": _text(event.reporting_mta, 255),
        "original_message_id": _text(event.original_message_id, 998),
        "source": event.source,
        "provider": event.provider,
        "provider_event_id": _text(event.provider_event_id, 255),
        "message_id": event.message_id,
        "forwarded_message_id": _forwarded_message_id(session, event.forwarded_candidates),
        "occurred_at": as_utc(event.occurred_at),
        "created_at": now,
        "raw": _json_safe(event.raw),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(BounceEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["source", "provider_event_id"])
        .returning(col(BounceEvent.id))
    )
    inserted: int | None = session.execute(stmt).scalar()
    return inserted


def _text(value: str | None, limit: int) -> str | None:
    """Provider text as every database stores it: no NUL (PostgreSQL refuses it), no lone
    surrogates (JSON allows ``\ud800``, UTF-8 does not), within the column's length."""
    if not value:
        return None
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:limit] or None


def _json_safe(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Python's JSON reader accepts NaN and Infinity; PostgreSQL's JSON does not: store null."""
    if raw is None:
        return None
    try:
        json.dumps(raw, allow_nan=False)
        return raw
    except ValueError:
        cleaned: dict[str, Any] = json.loads(json.dumps(raw), parse_constant=lambda _: None)
        return cleaned


def _existing_id(session: Session, event: BounceEventCreate) -> int:
    stmt = select(col(BounceEvent.id)).where(
        col(BounceEvent.source) == event.source,
        col(BounceEvent.provider_event_id) == _text(event.provider_event_id, 255),
    )
    found: int | None = session.scalar(stmt)
    assert found is not None  # the conflict that refused the insert is this row
    return found


def _forwarded_message_id(session: Session, candidates: tuple[str, ...]) -> str | None:
    """Our message whose forward bounced: the id embedded in our ``Resent-Message-ID``, else the
    newest stored message with that Message-ID that a forward step actually sent."""
    for candidate in candidates:
        match = _RESENT_ID.match(candidate.strip())
        if match and session.get(Message, match.group(1).lower()) is not None:
            return match.group(1).lower()
    for candidate in candidates:
        message_id = candidate.strip()
        if not message_id:
            continue
        stmt = (
            select(col(Message.id))
            .join(PipelineRun, col(PipelineRun.message_id) == col(Message.id))
            .join(StepRun, col(StepRun.pipeline_run_id) == col(PipelineRun.id))
            .where(
                col(Message.message_id).in_({message_id, f"<{message_id.strip('<>')}>"}),
                col(StepRun.name).in_(_FORWARD_STEPS),
                col(StepRun.status) == "succeeded",
            )
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        found: str | None = session.scalar(stmt)
        if found is not None:
            return found
    return None


def _apply_policy(
    session: Session, event: BounceEventCreate, event_id: int, policy: SuppressionConfig, now: datetime
) -> None:
    """Hard bounces and complaints suppress at once; soft bounces once ``soft_bounce_limit`` of
    them fell within the window before now (old history pulled late does not suppress today)."""
    detail = ", ".join(part for part in (event.reason, event.status) if part)
    if event.kind in ("hard", "complaint"):
        reason = "spam complaint" if event.kind == "complaint" else f"hard bounce ({detail})"
    elif event.kind == "soft":
        count = _recent_soft_bounces(session, event.recipient, now - timedelta(days=policy.soft_bounce_window_days))
        if count < policy.soft_bounce_limit:
            return
        days = f"{policy.soft_bounce_window_days:g}"
        reason = f"{count} soft bounces within {days} days (last: {detail})"
    else:
        return  # delayed: still being retried, says nothing yet
    put_suppression(
        session,
        event.recipient,
        kind=event.kind,
        reason=reason,
        source=event.source,
        now=now,
        expires_at=expiry(policy, now),
        bounce_event_id=event_id,
    )


def _recent_soft_bounces(session: Session, recipient: str, since: datetime) -> int:
    stmt = select(func.count()).where(
        func.lower(BounceEvent.recipient) == recipient.strip().lower(),
        col(BounceEvent.kind) == "soft",
        col(BounceEvent.occurred_at) >= since,
    )
    return int(session.scalar(stmt) or 0)
