"""What the two clients share besides the operations: how one is made, from which settings."""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx

from service.client.config import ClientConfig

TransportT = TypeVar("TransportT", bound=httpx.BaseTransport | httpx.AsyncBaseTransport)
HttpT = TypeVar("HttpT", bound=httpx.Client | httpx.AsyncClient)


class ClientBase(Generic[TransportT, HttpT]):
    """Read, wait for and manage messages through Mailhook's ``/api/v1``.

    ``url`` and ``token`` default to ``MAILHOOK_URL`` (else http://127.0.0.1:8000) and
    ``MAILHOOK_TOKEN``. ``timeout`` bounds each ordinary request; waits get their own deadline.
    Every failure raises a :class:`~service.client.errors.MailhookError`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: TransportT | None = None,
    ) -> None:
        self.config = ClientConfig.resolve(url, token, timeout)
        self._http: HttpT = self._connect(transport)

    def _connect(self, transport: TransportT | None) -> HttpT:
        """The httpx client to send through (``self.config.http_options()`` and ``transport``)."""
        raise NotImplementedError
