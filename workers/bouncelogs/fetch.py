"""Calling a provider log API: one place that turns HTTP answers into pull outcomes.

401/403 mean the API key is wrong or lacks the plan: retrying cannot help, so the account is
halted until its key changes. 429 carries ``Retry-After`` (delay-seconds or an HTTP date). Other
failures (5xx, network, a body that is not the documented JSON) are transient: back off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from service.moments import parse_iso_utc
from service.outbound import OutboundBlocked
from service.store.bounces import BounceEventCreate
from workers.effects.http_target import retry_after


class PullError(Exception):
    """A pull that failed; subclasses say what the scheduler should do about it."""


class Refused(PullError):
    """The provider refused the credentials (401/403): halt until the key changes."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the provider refused the API key (HTTP {status})")
        self.status = status


class Throttled(PullError):
    """429: come back after ``retry_after`` seconds (None when the provider did not say)."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("the provider is rate limiting (HTTP 429)")
        self.retry_after = retry_after


class Unavailable(PullError):
    """Anything transient: 5xx, timeouts, refused connections, an unreadable body."""


@dataclass(frozen=True)
class Pulled:
    """What one pull found: the events, and the newest entry time seen (the next cursor)."""

    events: list[BounceEventCreate]
    newest: datetime | None
    pages: int


async def get_json(client: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    """GET ``url`` and return its JSON, or raise the ``PullError`` its answer means."""
    try:
        response = await client.get(url, follow_redirects=False, **kwargs)
    except OutboundBlocked as exc:
        raise Unavailable(f"the outbound policy refused the API host: {exc.reason}") from None
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot reach the provider: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise Refused(response.status_code)
    if response.status_code == 429:
        raise Throttled(retry_after(response))
    if response.status_code != 200:
        raise Unavailable(f"the provider answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise Unavailable("the provider answered 200 with a body that is not JSON") from None


def parse_time(text: Any) -> datetime | None:
    """``2020-01-25 12:19:09+0000`` (ImprovMX), ``2019-10-01 09:00:00`` (addy.io, no zone:
    taken as UTC [U]); ``None`` for anything else."""
    return parse_iso_utc(text.strip()) if isinstance(text, str) else None
