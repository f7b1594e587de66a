"""addy.io failed deliveries: ``GET /api/v1/failed-deliveries`` with a Bearer token (bounces.md §6.2).

Each row is one forward that bounced (``recipient_email`` = the user's real address) or, with
``email_type: "IR"``, an *inbound* rejection of mail to an alias, which is not a bounce of
ours and is skipped. ``bounce_type`` is addy.io's verdict and is trusted over the status digit
(its own sample has ``hard`` with status ``5.7.1`` and "Recipient not found"): ``hard`` and
``soft`` as they say, ``spam`` a soft policy block, ``rule`` not a delivery failure [U], none
soft/other. Timestamps carry no zone; taken as UTC [U].

Paging is Laravel's ``page[number]``/``page[size]`` (from the code, not the API docs [C]): the
walk follows ``links.next`` when the answer has one, else stops at a short page; a page that
repeats the previous one (a server that ignores paging) or reaches before the stored cursor
minus a lookback (when newest first) ends it too. Users can delete rows; ids never repeat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.config import BounceLogAccount
from service.mail.bounce import Kind, Reason
from service.mail.bounce_rules import clip, kind_for, normalise_recipient, parse_reply_code, parse_status, reason_for
from service.store.bounces import BounceEventCreate
from workers.bouncelogs.fetch import Pulled, Unavailable, get_json, parse_time

BASE_URL = "https://app.addy.io"
PAGE_SIZE = 100
MAX_PAGES = 10


async def pull(
    client: httpx.AsyncClient, account: BounceLogAccount, since: datetime | None, lookback: timedelta
) -> Pulled:
    url = f"{(account.base_url or BASE_URL).rstrip('/')}/api/v1/failed-deliveries"
    headers = {
        "authorization": f"Bearer {account.api_key.get_secret_value()}",
        "accept": "application/json",
        "x-requested-with": "XMLHttpRequest",
    }
    events: list[BounceEventCreate] = []
    newest: datetime | None = None
    previous: list[Any] = []
    pages = 0
    while pages < MAX_PAGES:
        params = {"page[number]": str(pages + 1), "page[size]": str(PAGE_SIZE)}
        data = await get_json(client, url, params=params, headers=headers)
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise Unavailable("addy.io answer without a 'data' list")
        pages += 1
        ids = [row.get("id") for row in rows if isinstance(row, dict)]
        if not rows or ids == previous:
            break
        previous = ids
        for row in rows:
            if isinstance(row, dict):
                events.extend(row_events(account.name, row))
                newest = max(filter(None, (newest, parse_time(row.get("created_at")))), default=None)
        if not _has_next(data, len(rows)) or _older_than(rows, since, lookback):
            break
    return Pulled(events, newest, pages)


def _has_next(data: dict[str, Any], count: int) -> bool:
    links = data.get("links")
    if isinstance(links, dict) and "next" in links:
        return bool(links["next"])
    return count >= PAGE_SIZE


def _older_than(rows: list[Any], since: datetime | None, lookback: timedelta) -> bool:
    times = [parse_time(row.get("created_at")) for row in rows if isinstance(row, dict)]
    first, last = (times[0], times[-1]) if times else (None, None)
    if since is None or first is None or last is None or first < last:
        return False
    return last < since - lookback


def row_events(account: str, row: dict[str, Any]) -> list[BounceEventCreate]:
    """The bounce event of one failed-delivery row (none for inbound rejections and rules)."""
    recipient, row_id = row.get("recipient_email"), row.get("id")
    if row.get("email_type") == "IR" or not isinstance(row_id, str) or not row_id:
        return []
    if not isinstance(recipient, str) or not recipient.strip() or len(recipient) > 320:
        return []
    text = row.get("code") if isinstance(row.get("code"), str) else None
    given = row.get("status") if isinstance(row.get("status"), str) else None
    status = parse_status(given) or parse_status(text)
    code = parse_reply_code(text) or parse_reply_code(given)
    verdict = _verdict(row.get("bounce_type"), status, text, code)
    if verdict is None:
        return []
    kind, reason = verdict
    when = parse_time(row.get("attempted_at")) or parse_time(row.get("created_at")) or datetime.now(UTC)
    remote = row.get("remote_mta")
    return [
        BounceEventCreate(
            source=account,
            provider="addy",
            provider_event_id=row_id[:255],
            recipient=normalise_recipient(recipient),
            kind=kind,
            reason=reason,
            occurred_at=when,
            status=status,
            reply_code=code,
            diagnostic=clip(text),
            reporting_mta=remote.strip()[:255] if isinstance(remote, str) and remote.strip() else None,
            raw=row,
        )
    ]


def _verdict(bounce_type: Any, status: str | None, text: str | None, code: int | None) -> tuple[Kind, Reason] | None:
    # The text says more than the status here: read it first, the status only when it says nothing.
    reason = reason_for(None, text, code)
    if reason == "other":
        reason = reason_for(status, None, code)
    if bounce_type == "hard":
        return (kind_for(reason, status, code, permanent=True), reason)
    if bounce_type == "spam":
        return ("soft", "policy")
    if bounce_type == "rule":
        return None
    return ("soft", reason)
