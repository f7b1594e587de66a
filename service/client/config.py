"""Where Mailhook is and how to talk to it: the one setting both clients resolve the same way."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from service.client.errors import MailhookError

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
USER_AGENT = "mailhook-client/0.1"


@dataclass(frozen=True)
class ClientConfig:
    """Where Mailhook is and how to authenticate; arguments win over ``MAILHOOK_URL``/``MAILHOOK_TOKEN``."""

    url: str
    token: str | None
    timeout: float

    @classmethod
    def resolve(
        cls, url: str | None, token: str | None, timeout: float, environ: Mapping[str, str] | None = None
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        base = (url or env.get("MAILHOOK_URL") or DEFAULT_URL).rstrip("/")
        try:
            parsed = httpx.URL(base)
        except httpx.InvalidURL as exc:
            raise MailhookError(f"the Mailhook URL {base!r} is not a URL: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise MailhookError(f"the Mailhook URL {base!r} must look like http(s)://HOST[:PORT]")
        return cls(url=base, token=token or env.get("MAILHOOK_TOKEN") or None, timeout=timeout)

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def http_options(self) -> dict[str, Any]:
        """What ``httpx.Client`` and ``httpx.AsyncClient`` are both built with."""
        return {"base_url": self.url + API_PREFIX, "headers": self.headers(), "timeout": self.timeout}
