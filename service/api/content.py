"""A stored message's body, one-time code and links, as the read API shows them.

The code and links must be the ones ``mailhook inspect`` reports, and available the moment the
message is stored, before any worker ran: so they are computed here at read time, from the
stored text/HTML or, for raw-MIME and SMTP mail the worker has not hydrated yet, from the raw
MIME blob (parsed by the same reader the worker uses).

The extractors live on the worker side today (``workers.extract``) and ``service`` never
imports ``workers``; the composition root (``service.cli``) hands them in, with the MIME reader
(``service.mime.body``), as a ``ContentReader``. Results are cached per message id: a
message's code and links never change once it is stored.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from service.store.blobs import BlobStore
from service.store.models import Message

log = logging.getLogger("mailhook.api")


class ContentReader(Protocol):
    """The MIME reader and the code/link extractors (see the module docstring for why injected)."""

    def parse(self, raw: bytes, *, with_data: bool = False) -> dict[str, Any]: ...

    def find_code(
        self, subject: str | None, text: str | None, html: str | None, *, sender: str | None = None
    ) -> str | None: ...

    def find_links(self, text: str | None, html: str | None) -> list[str]: ...


class NoExtraction:
    """Stand-in when no reader was wired (ingest-only apps, benchmarks): no code, no links."""

    def parse(self, raw: bytes, *, with_data: bool = False) -> dict[str, Any]:
        return {}

    def find_code(
        self, subject: str | None, text: str | None, html: str | None, *, sender: str | None = None
    ) -> str | None:
        return None

    def find_links(self, text: str | None, html: str | None) -> list[str]:
        return []


@dataclass(frozen=True, slots=True)
class Body:
    """What the reader sees. ``attachments`` is ``None`` when the stored rows are authoritative
    (hydrated or provider-parsed mail), else the metadata parsed from the raw MIME."""

    subject: str | None
    text: str | None
    html: str | None
    attachments: list[dict[str, Any]] | None
    defects: list[str]


@dataclass(frozen=True, slots=True)
class Extracted:
    code: str | None
    links: list[str]


class MessageContent:
    def __init__(self, reader: ContentReader, blobs: BlobStore, *, cache_size: int = 4096) -> None:
        self.reader = reader
        self._blobs = blobs
        self._cache: OrderedDict[str, Extracted] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # called from worker threads

    @staticmethod
    def unhydrated(message: Message) -> bool:
        """Raw MIME kept and not yet parsed by the worker: text and HTML are still empty."""
        return message.raw_mime_sha256 is not None and message.parsed_at is None

    def _parsed(self, message: Message, *, with_data: bool = False) -> dict[str, Any]:
        assert message.raw_mime_sha256 is not None
        try:
            raw = self._blobs.read(message.raw_mime_sha256)
        except OSError as exc:
            log.warning("raw MIME of message %s unreadable: %s", message.id, type(exc).__name__)
            return {"defects": ["raw_mime_unreadable"]}
        return self.reader.parse(raw, with_data=with_data)

    def body(self, message: Message) -> Body:
        if not self.unhydrated(message):
            return Body(message.subject, message.text, message.html, None, list(message.defects))
        parsed = self._parsed(message)
        return Body(
            parsed.get("subject") or message.subject,
            parsed.get("text"),
            parsed.get("html"),
            list(parsed.get("attachments", [])),
            list(dict.fromkeys([*message.defects, *parsed.get("defects", [])])),
        )

    def extracted(self, message: Message, body: Body | None = None) -> Extracted:
        with self._lock:
            cached = self._cache.get(message.id)
            if cached is not None:
                self._cache.move_to_end(message.id)
                return cached
        body = body or self.body(message)
        # The sender's display name is evidence too, as the extract_otp step and inspect pass it.
        code = self.reader.find_code(body.subject, body.text, body.html, sender=message.from_name)
        found = Extracted(code, self.reader.find_links(body.text, body.html))
        with self._lock:
            self._cache[message.id] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found

    def parsed_attachment(self, message: Message, position: int) -> dict[str, Any] | None:
        """An unhydrated message's attachment (metadata and ``data``), parsed from its raw MIME."""
        items = self._parsed(message, with_data=True).get("attachments", [])
        return items[position] if 0 <= position < len(items) else None

    def forget(self, message_id: str) -> None:
        with self._lock:
            self._cache.pop(message_id, None)
