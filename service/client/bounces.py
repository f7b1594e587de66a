"""The read API's bounce events and suppression list entries, each field read from the JSON key of
its name (:class:`~service.client.lenient.Record`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.client.lenient import Record


@dataclass(frozen=True)
class Bounce(Record):
    """One bounced recipient: from a bounce webhook, a pulled provider log, or bounce mail.

    ``kind`` is ``hard``, ``soft``, ``complaint`` (or another kind a newer server adds);
    ``message_id`` is the stored bounce mail, ``forwarded_message_id`` the message whose
    forward bounced, when known.
    """

    id: int
    recipient: str
    kind: str
    reason: str | None
    status: str | None
    reply_code: int | None
    diagnostic: str | None
    reporting_mta: str | None
    original_message_id: str | None
    source: str | None
    provider: str | None
    message_id: str | None
    forwarded_message_id: str | None
    occurred_at: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class Suppression(Record):
    """An address forwarding steps skip, and why: ``kind`` is the bounce kind, or ``manual``."""

    address: str
    kind: str
    reason: str | None
    source: str | None
    since: datetime | None
    expires_at: datetime | None
