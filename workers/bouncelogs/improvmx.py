"""ImprovMX logs: ``GET /v3/domains/{domain}/logs`` with HTTP Basic ``api:<key>`` (bounces.md §6.1).

Each log entry is one forwarded mail (``recipient`` = the alias, ``forward`` = the destination)
with its ``events``: QUEUED, REFUSED (refused at our MX, i.e. inbound), DELIVERED, SOFT-BOUNCE
(the destination deferred; ImprovMX retries "with increased delay") and HARD-BOUNCE. Only the
two bounce statuses become bounce events: SOFT-BOUNCE as delayed, HARD-BOUNCE as a permanent
failure of the ``forward`` address.

Paging: ``next_cursor`` "loads the logs after the given log.id" and the response has no cursor
field, so the last entry's ``id`` is passed; the sample is newest first, so "after" is taken to
mean older [U]. A page that is empty, repeats, or whose last entry has no ``id`` (one entry in
the official sample has none) ends the walk; so does reaching entries older than the stored
cursor minus a lookback (retries add events to older entries), when the page is newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.config import BounceLogAccount
from service.mail.bounce import Kind
from service.mail.bounce_rules import (
    clip,
    event_key,
    kind_for,
    normalise_recipient,
    parse_status,
    provider_key,
    reason_for,
)
from service.mail.inbound import normalise_message_id
from service.store.bounces import BounceEventCreate
from workers.bouncelogs.fetch import Pulled, Unavailable, get_json, parse_time

BASE_URL = "https://api.improvmx.com/v3"
MAX_PAGES = 20
_BOUNCES = frozenset({"SOFT-BOUNCE", "HARD-BOUNCE"})


async def pull(
    client: httpx.AsyncClient, account: BounceLogAccount, since: datetime | None, lookback: timedelta
) -> Pulled:
    url = f"{(account.base_url or BASE_URL).rstrip('/')}/domains/{account.domain}/logs"
    auth = ("api", account.api_key.get_secret_value())
    events: list[BounceEventCreate] = []
    newest: datetime | None = None
    seen: set[str] = set()
    params: dict[str, str] = {}
    pages = 0
    while pages < MAX_PAGES:
        data = await get_json(client, url, params=params, auth=auth)
        logs = data.get("logs") if isinstance(data, dict) else None
        if not isinstance(logs, list):
            raise Unavailable("ImprovMX logs answer without a 'logs' list")
        pages += 1
        entries = [entry for entry in logs if isinstance(entry, dict)]
        ids = [str(entry.get("id")) for entry in entries if entry.get("id")]
        if not entries or (ids and all(i in seen for i in ids)):
            break
        seen.update(ids)
        for entry in entries:
            events.extend(log_events(account.name, entry))
            created = parse_time(entry.get("created"))
            newest = max(filter(None, (newest, created)), default=None)
        last = entries[-1].get("id")
        if not last or _older_than(entries, since, lookback):
            break
        params = {"next_cursor": str(last)}
    return Pulled(events, newest, pages)


def _older_than(entries: list[dict[str, Any]], since: datetime | None, lookback: timedelta) -> bool:
    """True when the page is newest first and already reaches before ``since - lookback``."""
    first, last = parse_time(entries[0].get("created")), parse_time(entries[-1].get("created"))
    if since is None or first is None or last is None or first < last:
        return False
    return last < since - lookback


def log_events(account: str, entry: dict[str, Any]) -> list[BounceEventCreate]:
    """The bounce events of one log entry (none for delivered, queued or refused mail)."""
    recipient = _address(entry.get("forward")) or _address(entry.get("recipient"))
    if recipient is None:
        return []
    log_id = entry.get("id") or event_key(
        entry.get("messageId"), _address(entry.get("recipient")), entry.get("created")
    )
    message_id = entry.get("messageId")
    original = normalise_message_id(message_id) if isinstance(message_id, str) else None
    found = []
    for item in entry.get("events") or []:
        if not isinstance(item, dict) or item.get("status") not in _BOUNCES:
            continue
        text = item.get("message") if isinstance(item.get("message"), str) else None
        code = (
            item.get("code") if isinstance(item.get("code"), int) and not isinstance(item.get("code"), bool) else None
        )
        status = parse_status(text)
        reason = reason_for(status, text, code)
        kind: Kind
        if item["status"] == "SOFT-BOUNCE":
            kind = "delayed"  # ImprovMX keeps retrying
        else:
            kind = kind_for(reason, status, code, permanent=True)
        found.append(
            BounceEventCreate(
                source=account,
                provider="improvmx",
                provider_event_id=provider_key(log_id, item["status"], item.get("created")),
                recipient=normalise_recipient(recipient),
                kind=kind,
                reason=reason,
                occurred_at=parse_time(item.get("created")) or parse_time(entry.get("created")) or _now(),
                status=status,
                reply_code=code if code is not None and 200 <= code <= 599 else None,
                diagnostic=clip(text),
                original_message_id=original,
                forwarded_candidates=(original,) if original else (),
                raw={**{k: v for k, v in entry.items() if k != "events"}, "event": item},
            )
        )
    return found


def _code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _address(value: Any) -> str | None:
    email = value.get("email") if isinstance(value, dict) else None
    return email.strip() if isinstance(email, str) and email.strip() and len(email) <= 320 else None


def _now() -> datetime:
    return datetime.now(UTC)
