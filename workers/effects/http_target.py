"""Posting to a user-configured HTTP target and turning the answer into a step outcome.

Shared by ``slack`` and ``forward_http`` so that "which failures are worth retrying" is decided
in one place. Error messages never include the URL: webhook URLs carry their secret in the
path (Slack) or query string, and step errors are stored and shown in the UI.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx

from service.moments import retry_after_seconds
from service.outbound import OutboundBlocked
from workers.steps.base import PermanentStepError, RetryableStepError, StepContext

MAX_RETRY_AFTER_S = 3600.0


async def post(ctx: StepContext, url: str, *, target: str, **kwargs: Any) -> httpx.Response:
    """POST through the worker's guarded client; transport failures become step errors."""
    try:
        return await ctx.deps.http().post(url, **kwargs)
    except OutboundBlocked as exc:
        raise PermanentStepError(f"{target} target refused: {exc}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise PermanentStepError(f"{target} URL is not usable: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise RetryableStepError(f"{target} unreachable: {type(exc).__name__}") from None


def check_response(response: httpx.Response, *, target: str, retry_on: Collection[int]) -> None:
    """Return on 2xx; raise retryable for ``retry_on`` and 5xx, permanent for everything else."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = " ".join(response.text[:200].split())
    message = f"{target} answered {status}" + (f": {detail}" if detail else "")
    if status in retry_on or status >= 500:
        raise RetryableStepError(message, retry_after=retry_after(response))
    raise PermanentStepError(message)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at an hour."""
    seconds = retry_after_seconds(response.headers)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)
