"""The contract every inbound provider implements.

A provider module holds only provider facts: how its body is shaped, how it signs, what its
delivery id is. Reading the body, checking the source secret, storing and enqueueing are done
once, in ``service.ingest.hooks``, for all of them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from service.config import SourceConfig
from service.errors import BadPayload
from service.inbound import InboundEmail
from service.ingest.nonces import NonceCache


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


class InboundProvider(ABC):
    """Base for provider adapters; subclasses set ``name`` and implement ``parse``."""

    name: ClassVar[str]
    #: The status that tells this provider "delivered". Forward Email accepts exactly 200.
    success_status: ClassVar[int] = 200

    def verify(self, delivery: Delivery) -> None:
        """Check a provider signature, raising ``Unauthorized``. Override where the provider signs;
        the source secret has already been checked for every provider."""
        return None

    async def check_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        """Refuse a signed delivery seen before (raise ``Unauthorized``). Override where the provider
        signs a one-time token (Mailgun); runs after ``verify`` and ``parse`` succeeded."""
        return None

    async def release_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        """Undo ``check_replay`` when the delivery could not be stored, so the provider's retry
        (which may carry the same token) is not refused as a replay."""
        return None

    @abstractmethod
    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        """Normalise the body into one or more emails; raise ``BadPayload`` saying what is wrong."""


def load_json_object(body: bytes) -> dict[str, Any]:
    """Providers send JSON without reliable Content-Type headers, so parse leniently but strictly typed."""
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise BadPayload("body is not valid UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise BadPayload(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadPayload("body is JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise BadPayload(f"expected a JSON object, got {type(data).__name__}")
    return data


def require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """Fetch a required field with a clear 400 when it is missing or of the wrong type."""
    path = f"{where}.{key}" if where else key
    if key not in data or data[key] is None:
        raise BadPayload(f"missing field '{path}'", details={"field": path})
    value = data[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadPayload(f"field '{path}' must be {expected}", details={"field": path})
    return value


def optional(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    if data.get(key) is None:
        return None
    return require(data, key, kind, where)
