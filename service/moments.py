"""Times read at Mailhook's edges, by one rule: a time without an offset is UTC.

SQLite hands stored datetimes back without an offset (they were stored in UTC), and providers'
timestamps and HTTP dates sometimes leave the zone out; every reader applies the same rule
through these functions instead of spelling ``replace(tzinfo=UTC)`` where it needs it. The
``Retry-After`` of a rate-limited answer is read here too, once for every outbound client.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """``value`` with its offset; a naive one is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive one already is."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def parse_iso(text: str | None) -> datetime | None:
    """An ISO 8601 time (JSON's convention) as an aware datetime, its offset kept and a naive one
    taken as UTC; ``None`` when absent or not ISO 8601."""
    if not text:
        return None
    try:
        return aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_iso_utc(text: str | None) -> datetime | None:
    """``parse_iso`` in UTC (timestamps kept and compared as UTC, as the bounce store does)."""
    parsed = parse_iso(text)
    return as_utc(parsed) if parsed else None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds from now (RFC 9110 §10.2.3: delay-seconds or an HTTP-date; a
    past date or a negative delay is 0); ``None`` when absent or unreadable. Callers cap it."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = (aware(when) - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
