"""The cron job that pulls every configured ``bounce_logs`` account when it is due.

One arq cron tick a minute serves all accounts, each on its own schedule kept in the store
(``bouncelogcursor``): pulled every ``interval_s`` after a success; after a failure, backed off
exponentially (5xx, network), or for the provider's ``Retry-After`` (429); halted for good on
401/403 until the account's API key changes in the config (the refused key's fingerprint is
stored, never the key). Config reloads are picked up at the next tick. An account's failure is
logged and stored and never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.config import BounceLogAccount
from service.store.bounce_writes import record_events
from service.store.bouncelogs import CursorState, load_cursor, save_failure, save_success
from workers.bouncelogs import addy, improvmx
from workers.bouncelogs.fetch import Pulled, PullError, Refused, Throttled, parse_time
from workers.deps import WorkerDeps

log = logging.getLogger("mailhook.bouncelogs")

#: Retries add events to older entries (ImprovMX), and clocks differ: re-read this far back.
LOOKBACK = timedelta(days=3)
MAX_BACKOFF_S = 3600.0
#: When a 429 does not say how long to wait.
DEFAULT_RETRY_AFTER_S = 60.0
Puller = Callable[[httpx.AsyncClient, BounceLogAccount, datetime | None, timedelta], Awaitable[Pulled]]
PULLERS: dict[str, Puller] = {"improvmx": improvmx.pull, "addy": addy.pull}


async def pull_bounce_logs(ctx: dict[str, Any]) -> int:
    """arq cron entry point: pull each due account; returns the number of new bounce events."""
    deps: WorkerDeps = ctx["deps"]
    total = 0
    for account in deps.config.current.bounce_logs:
        total += await pull_account(deps, account)
    return total


def key_fingerprint(account: BounceLogAccount) -> str:
    return hashlib.sha256(account.api_key.get_secret_value().encode()).hexdigest()[:16]


async def pull_account(deps: WorkerDeps, account: BounceLogAccount, *, now: datetime | None = None) -> int:
    """Pull ``account`` if it is due; store its events and cursor; return how many were new."""
    now = now or datetime.now(UTC)
    state = await asyncio.to_thread(load_cursor, deps.engine, account.name)
    if not _due(state, account, now):
        return 0
    since = parse_time(state.cursor)
    try:
        pulled = await PULLERS[account.provider](deps.http(), account, since, LOOKBACK)
        policy = deps.config.current.suppression
        recorded = await asyncio.to_thread(record_events, deps.engine, pulled.events, policy)
    except PullError as exc:
        await _failed(deps, account, state, exc, now)
        return 0
    except Exception as exc:  # the store or our own bug: back off, keep the other accounts going
        log.exception("bounce_logs %s: pull failed", account.name)
        await _failed(deps, account, state, exc, now)
        return 0
    newest = max(filter(None, (since, pulled.newest)), default=None)
    cursor = newest.isoformat() if newest else state.cursor
    next_run = now + timedelta(seconds=account.interval_s)
    await asyncio.to_thread(save_success, deps.engine, account.name, cursor=cursor, next_run_at=next_run)
    new = sum(not r.duplicate for r in recorded)
    log.info("bounce_logs %s: %d page(s), %d new bounce event(s)", account.name, pulled.pages, new)
    return new


def _due(state: CursorState, account: BounceLogAccount, now: datetime) -> bool:
    if state.halted_key is not None and state.halted_key == key_fingerprint(account):
        return False  # refused this key before; a new key in the config resumes
    return state.next_run_at is None or state.next_run_at <= now


async def _failed(
    deps: WorkerDeps, account: BounceLogAccount, state: CursorState, exc: Exception, now: datetime
) -> None:
    failures = state.failures + 1
    halted = None
    if isinstance(exc, Refused):
        halted = key_fingerprint(account)
        next_run = None
        log.error(
            "bounce_logs %s: %s refused the API key (HTTP %d); not pulling again until bounce_logs.%s.api_key changes",
            account.name,
            account.provider,
            exc.status,
            account.name,
        )
    elif isinstance(exc, Throttled):
        wait = min(exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER_S, MAX_BACKOFF_S)
        next_run = now + timedelta(seconds=wait)
        log.warning("bounce_logs %s: rate limited; next try in %.0f s", account.name, wait)
    else:
        wait = min(account.interval_s * 2 ** min(failures, 16), MAX_BACKOFF_S)
        next_run = now + timedelta(seconds=wait)
        log.warning("bounce_logs %s: %s; next try in %.0f s", account.name, exc, wait)
    await asyncio.to_thread(
        save_failure,
        deps.engine,
        account.name,
        error=str(exc) or type(exc).__name__,
        next_run_at=next_run,
        failures=failures,
        halted_key=halted,
    )
