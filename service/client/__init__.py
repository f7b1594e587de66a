"""Typed Python client for Mailhook's read API (``/api/v1``), sync and async, on httpx.

    from service.client import MailhookClient

    with MailhookClient() as mailhook:          # MAILHOOK_URL, MAILHOOK_TOKEN
        since = mailhook.cursor()
        ...                                      # trigger the email
        code = mailhook.wait_for_code("signup+run1@qa.example.com", since=since)

The pytest plugin (:mod:`service.client.pytest_plugin`) builds on it.
"""

from service.client.aio import AsyncMailhookClient
from service.client.bounces import Bounce, Suppression
from service.client.config import DEFAULT_URL, ClientConfig
from service.client.errors import (
    BadRequest,
    Forbidden,
    MailhookError,
    NotFound,
    ServerUnavailable,
    Unauthorized,
    WaitTimeout,
)
from service.client.models import Address, AttachmentInfo, Mailbox, MessageDetail, Run, StepRun, Summary, WaitResult
from service.client.operations import BounceFilters, MessageFilters, SuppressionFilters
from service.client.sync import MailhookClient
from service.client.waiting import LinkMatch, WaitOptions, Want

__all__ = [
    "DEFAULT_URL",
    "Address",
    "AsyncMailhookClient",
    "AttachmentInfo",
    "BadRequest",
    "Bounce",
    "BounceFilters",
    "ClientConfig",
    "Forbidden",
    "LinkMatch",
    "Mailbox",
    "MailhookClient",
    "MailhookError",
    "MessageDetail",
    "MessageFilters",
    "NotFound",
    "Run",
    "ServerUnavailable",
    "StepRun",
    "Summary",
    "Suppression",
    "SuppressionFilters",
    "Unauthorized",
    "WaitOptions",
    "WaitResult",
    "WaitTimeout",
    "Want",
]
