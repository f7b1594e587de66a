"""The contract every provider adapter implements.

A provider module holds only provider facts: how its body is shaped, how it signs, what its
delivery id is. Reading the body, checking the source secret, storing and enqueueing are done
once, in ``service.ingest.hooks``, for all of them.

Two kinds of provider share the base ``Provider`` (secrets, signatures, replay checks):

* ``InboundProvider.parse`` returns ``InboundEmail``s: mail, stored as messages and queued.
* ``BounceProvider.parse`` returns ``BounceEventCreate``s: delivery failures reported by a
  sending provider (SES, Postmark, Mailgun, SendGrid, Forward Email), stored as bounce events.

Providers whose authenticity needs the network (SNS fetches its signing certificate) do that
in ``verify_remote``, which can also answer a handshake (an SNS subscription confirmation)
without anything being stored.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from service.config import SourceConfig
from service.errors import BadPayload
from service.ingest.nonces import NonceCache
from service.mail.bounce import BouncedRecipient
from service.mail.bounce_rules import clip, normalise_recipient
from service.mail.inbound import InboundEmail, repair_text
from service.mail.storable import scrub
from service.mime.headers import HeaderFields
from service.providers.json_reader import parse_json, require
from service.settings import Settings
from service.store.bounces import BounceEventCreate
from service.store.ids import idempotency_key


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request as the provider sent it, body already read within the size limit."""

    source: SourceConfig
    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    remote_ip: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class Memo:
    """A small LRU map a provider may keep for the life of the process (SNS certificates)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
        return self._items.get(key)

    def put(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass
class ProviderServices:
    """What ``verify_remote`` may use beyond the request; held by the app for its lifetime."""

    settings: Settings
    #: An outbound client guarded by the config's ``outbound.allow_hosts`` (SSRF guard).
    http: Callable[[], httpx.AsyncClient]
    memo: Memo = field(default_factory=Memo)


@dataclass(frozen=True, slots=True)
class Handshake:
    """``verify_remote``'s answer to a delivery that carries nothing to store."""

    body: dict[str, Any]


class Provider(ABC):
    """What every adapter has: a name, its success status, and authenticity checks."""

    name: ClassVar[str]
    #: The status that tells this provider "delivered". Forward Email accepts exactly 200.
    success_status: ClassVar[int] = 200

    def __init__(self) -> None:
        #: What was repaired while reading this delivery (inbound providers keep them as the
        #: emails' defects). An instance serves one delivery: ``get_provider`` makes one per request.
        self.defects: list[str] = []

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        """Raise ``ValueError`` when a configured source lacks what this provider needs (called
        by config validation). Override where a provider needs keys or topics."""
        return None

    def verify(self, delivery: Delivery) -> None:
        """Check a provider signature, raising ``Unauthorized``. Override where the provider signs;
        the source secret has already been checked for every provider."""
        return None

    async def verify_remote(self, delivery: Delivery, services: ProviderServices) -> Handshake | None:
        """Checks that need the network, after ``verify``; raise ``Unauthorized``. Return a
        ``Handshake`` to answer at once with nothing stored. Override where a provider's proof of
        origin must be fetched (SNS signing certificates)."""
        return None

    async def check_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        """Refuse a signed delivery seen before (raise ``Unauthorized``). Override where the provider
        signs a one-time token (Mailgun); runs after ``verify`` and ``parse`` succeeded."""
        return None

    async def release_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        """Undo ``check_replay`` when the delivery could not be stored, so the provider's retry
        (which may carry the same token) is not refused as a replay."""
        return None


class InboundProvider(Provider):
    """Base for inbound-mail adapters; subclasses set ``name`` and implement ``parse``.

    What the base repaired while reading the delivery (``defects``) is carried into every email
    ``email()`` builds.
    """

    @abstractmethod
    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        """Normalise the body into one or more emails; raise ``BadPayload`` saying what is wrong."""

    # --- what every provider does the same way -----------------------------------------------

    def json_body(self, delivery: Delivery) -> dict[str, Any]:
        """The body as a JSON object (see ``load_json_object``); repairs become defects."""
        return load_json_object(delivery.body, self.defects)

    def json_field(self, text: str | None, where: str, *, pairs: bool = False) -> Any:
        """A JSON document carried inside a string field and decoded a second time (ProxiedMail
        and Mailgun ``message-headers``, SendGrid ``envelope``): same rules as the body.
        ``pairs`` reads objects as ``JsonPairs`` (every key kept, repeats included)."""
        return None if text is None else parse_json(text, where, self.defects, pairs=pairs)

    def utf8(self, text: str, where: str) -> bytes:
        """Text a provider sends for bytes (Forward Email ``raw``, Postmark ``RawEmail``) as
        UTF-8; a lone surrogate in it becomes U+FFFD, noted like those in other fields."""
        try:
            return text.encode()
        except UnicodeEncodeError:
            self.defects.append(f"unstorable_text: replaced in {where}")
            return str(scrub(text)).encode("utf-8", "replace")

    def email(self, delivery: Delivery, key: str, **fields: Any) -> InboundEmail:
        """An ``InboundEmail`` with the head every provider fills alike (provider, source, key,
        raw payload, arrival time; ``fields`` may override the last two), the repairs made while
        reading the delivery as defects, and lone surrogates replaced in every text field."""
        head: dict[str, Any] = {"raw_payload": delivery.body, "received_at": delivery.received_at}
        email = InboundEmail(provider=self.name, source=delivery.source.name, idempotency_key=key, **(head | fields))
        if self.defects:
            email.defects = list(dict.fromkeys([*self.defects, *email.defects]))
        repair_text(email)
        return email

    def email_with_event_id(self, delivery: Delivery, event_id: str, **fields: Any) -> InboundEmail:
        """``email`` for a provider that sends a delivery id: it is the key and the stored event id."""
        return self.email(delivery, self.delivery_key(event_id=event_id), provider_event_id=event_id, **fields)

    def email_with_message_id(
        self,
        delivery: Delivery,
        raw_mime: bytes | None,
        fields: HeaderFields,
        *,
        envelope_to: list[str],
        extra: Sequence[str | None] = (),
        **more: Any,
    ) -> InboundEmail:
        """``email`` for a provider that sends no delivery id: keyed by the Message-ID in
        ``fields`` and the envelope recipients (``delivery_key``), else by the content (the raw
        message, or the body without one)."""
        content = raw_mime or delivery.body
        key = self.delivery_key(message_id=fields["message_id"], recipients=envelope_to, extra=extra, content=content)
        return self.email(delivery, key, envelope_to=envelope_to, raw_mime=raw_mime, **more, **fields)

    def event_id(self, data: Mapping[str, Any], key: str) -> str:
        """The provider's id for this delivery (the idempotency key): a string of 1 to 255
        characters (the ``provider_event_id`` column), else 400 naming the field."""
        value = require(data, key, str)
        if not 0 < len(value) <= 255:
            raise BadPayload(f"field '{key}' must be 1 to 255 characters", details={"field": key})
        return value

    def delivery_key(
        self,
        *,
        event_id: str | None = None,
        message_id: str | None = None,
        recipients: Sequence[str] = (),
        extra: Sequence[str | None] = (),
        content: bytes = b"",
    ) -> str:
        """The idempotency key (providers.md §0.1): the provider's delivery id when it gives one;
        else Message-ID + envelope recipients (+ ``extra``, e.g. the Date a resend keeps); else,
        with no Message-ID, the content's sha256 + recipients (only the exact bytes identify a
        redelivery then)."""
        if event_id:
            return idempotency_key(self.name, event_id)
        joined = ",".join(recipients)
        if message_id:
            return idempotency_key(self.name, message_id, joined, *extra)
        return idempotency_key(self.name, hashlib.sha256(content).hexdigest(), joined)


class BounceProvider(Provider):
    """Base for bounce-webhook adapters; subclasses set ``name`` and implement ``parse``."""

    @abstractmethod
    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        """Normalise the body into bounce events, one per affected recipient; events the model
        does not record (deliveries, opens, unsubscribes) are left out, so a delivery may yield
        none. Raise ``BadPayload`` when the body is not the provider's shape."""

    def event(
        self, delivery: Delivery, key: str, bounced: BouncedRecipient, when: datetime | None, **fields: Any
    ) -> BounceEventCreate:
        """One recipient's event with what every provider fills alike: source and provider, the
        key, the recipient normalised with its verdict and SMTP detail (the diagnostic clipped),
        and the arrival time when the provider gives no time. ``original_message_id`` is also the
        one forwarded candidate unless ``fields`` name the candidates."""
        original = fields.get("original_message_id")
        fields.setdefault("forwarded_candidates", (original,) if original else ())
        return BounceEventCreate(
            source=delivery.source.name,
            provider=self.name,
            provider_event_id=key,
            recipient=normalise_recipient(bounced.address),
            kind=bounced.kind,
            reason=bounced.reason,
            occurred_at=when or delivery.received_at,
            status=bounced.status,
            reply_code=bounced.reply_code,
            diagnostic=clip(bounced.diagnostic),
            **fields,
        )


def load_json(body: bytes, defects: list[str] | None = None) -> Any:
    """Providers send JSON without reliable Content-Type headers, so parse leniently (see
    ``parse_json``)."""
    return parse_json(body, "body", defects)


def load_json_object(body: bytes, defects: list[str] | None = None) -> dict[str, Any]:
    """Providers send JSON without reliable Content-Type headers, so parse leniently but strictly typed."""
    data = load_json(body, defects)
    if not isinstance(data, dict):
        raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
    return data
