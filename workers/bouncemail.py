"""Bounce mail, whatever path it came in by: read before routing, marked on the message, recorded.

A DSN, an MTA's plain notice or a spam complaint (ARF) reaches Mailhook like any other mail:
raw HTTP, SMTP, or a provider's webhook. The job hands every message to the classifier
(``workers.bounces``) once, while hydrating it (``workers.hydrate``), before routes are chosen,
so routes can match ``bounce.kind`` and ``extract_otp`` knows not to read a code out of the
original a bounce quotes. What is found is written with the hydrated fields: the ``bounce``
column (``bounce_value``) and one bounce event per recipient (``record_bounce_report``, which
applies the suppression policy), in the same transaction.

The classifier never raises; whatever goes wrong here (a timeout, an unreadable attachment
blob) becomes a defect on the message, which is then routed and processed as ordinary mail.
Ordinary mail costs a byte-level pre-check (``signals.may_be_report``): it is never parsed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from service.config import SuppressionConfig
from service.mail.bounce import BounceReport
from service.mail.storable import scrub
from service.store.blobs import BlobStore
from service.store.bounce_writes import record_bounce_report
from service.store.models import Attachment, Message
from workers.bouncemime import is_report_part, rebuilt_mime
from workers.bounces import classify_with_defects, mime, original, signals

#: Mail up to this size is classified on the event loop (the pre-check turns ordinary mail away in
#: microseconds, a bounce takes about a millisecond); larger mail in a thread, with a time bound.
INLINE_CLASSIFY_BYTES = 64 * 1024
CLASSIFY_TIMEOUT_S = 20.0
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class BounceFinding:
    """What the classifier made of one message (``report`` None: not a bounce, or unreadable)."""

    report: BounceReport | None = None
    defects: tuple[str, ...] = ()
    #: ``Resent-Message-ID``s of the returned original: ``forward_smtp`` writes ours there.
    resent_ids: tuple[str, ...] = ()

    @property
    def value(self) -> dict[str, Any] | None:
        return bounce_value(self.report) if self.report is not None else None


def bounce_value(report: BounceReport) -> dict[str, Any]:
    """The ``message.bounce`` column: the short form routes and ``inspect`` show, plus the two
    fields that tie the bounce to the mail it is about."""
    value = {
        **report.as_dict(),
        "reporting_mta": report.reporting_mta,
        "original_message_id": report.original_message_id,
    }
    return dict(scrub(value))  # mail text may hold NUL or undecodable bytes: no database stores those


def read_bounce(raw: bytes) -> BounceFinding:
    """Classify ``raw`` (never raises)."""
    report, defects = classify_with_defects(raw)
    return BounceFinding(report, tuple(defects), resent_ids(raw) if report is not None else ())


def resent_ids(raw: bytes) -> tuple[str, ...]:
    """The ``Resent-Message-ID``s of the original a bounce returns (attached or pasted inline);
    read only for mail already known to be a bounce, so the second parse costs nothing elsewhere."""
    try:
        msg = mime.parse(raw[: 4 * 1024 * 1024])
        headers = original.original_headers(msg) or original.inline_original(mime.report_text_uncut(msg))
    except Exception:  # a link to our forward is a bonus; the bounce is recorded without it
        return ()
    if headers is None:
        return ()
    values = [mime.header(headers, name) for name, _ in headers.raw_items() if name.lower() == "resent-message-id"]
    return tuple(dict.fromkeys(found for value in values for found in _MESSAGE_ID.findall(value)))


async def find_bounce(raw: bytes) -> BounceFinding:
    """``read_bounce``, on the loop for small mail, else in a thread under ``CLASSIFY_TIMEOUT_S``.
    Large ordinary mail (attachments) is turned away on the loop by the pre-check, which reads
    at most its first 96 KB, instead of paying a thread hand-off to learn nothing."""
    if len(raw) <= INLINE_CLASSIFY_BYTES:
        return read_bounce(raw)
    if not _may_be_report(raw):
        return BounceFinding()
    try:
        return await asyncio.wait_for(asyncio.to_thread(read_bounce, raw), CLASSIFY_TIMEOUT_S)
    except TimeoutError:
        # The thread cannot be stopped and finishes in the background; the mail goes on as ordinary.
        return BounceFinding(defects=("bounce_classify_timeout",))


async def find_bounce_in_fields(message: Message, attachments: list[Attachment], blobs: BlobStore) -> BounceFinding:
    """Classify a provider delivery that kept no raw MIME, from MIME rebuilt out of its stored
    fields (``workers.bouncemime`` says what that can and cannot recover)."""
    reports = [row for row in attachments if is_report_part(row.content_type)]
    try:
        if not reports:
            return await find_bounce(rebuilt_mime(message, []))
        return await asyncio.wait_for(asyncio.to_thread(_read_rebuilt, message, reports, blobs), CLASSIFY_TIMEOUT_S)
    except TimeoutError:
        return BounceFinding(defects=("bounce_classify_timeout",))
    except Exception as exc:  # e.g. an attachment blob that cannot be read: processed as ordinary mail
        return BounceFinding(defects=(f"bounce classifier failed: {type(exc).__name__}",))


def _may_be_report(raw: bytes) -> bool:
    try:
        return signals.may_be_report(raw)
    except Exception:  # the classifier itself guards every failure: let it meet this one
        return True


def _read_rebuilt(message: Message, reports: list[Attachment], blobs: BlobStore) -> BounceFinding:
    return read_bounce(rebuilt_mime(message, [(row.content_type, blobs.read(row.sha256)) for row in reports]))


def recorder(message: Message, finding: BounceFinding, policy: SuppressionConfig) -> BounceWrite | None:
    """The write that records ``finding``'s events with the job's other writes (None: nothing to record)."""
    if finding.report is None:
        return None
    return BounceWrite(message.id, message.source, message.received_at, finding.report, finding.resent_ids, policy)


@dataclass(frozen=True, slots=True)
class BounceWrite:
    """One bounce event per recipient, linked to the stored mail; idempotent, so a batch retried
    alone (``TransactionBatcher``) or a replay records nothing twice."""

    message_id: str
    source: str
    received_at: datetime
    report: BounceReport
    resent_ids: Sequence[str]
    policy: SuppressionConfig

    def __call__(self, conn: Connection) -> None:
        record_bounce_report(
            conn,
            self.report,
            source=self.source,
            message_id=self.message_id,
            policy=self.policy,
            occurred_at=self.received_at,
            forwarded_candidates=self.resent_ids,
        )
