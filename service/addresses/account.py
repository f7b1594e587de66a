"""A provider account of the ``addresses:`` config section, as its adapter reads it.

The fields and the checks that need no provider; ``service.addresses.config`` adds the checks
against the provider registry (``ConfiguredAccount``), so the adapters (``base``) and the
registry can import this module without a loop.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from service.source_name import check_source_name

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")

#: An account's name, as ``--via`` takes it: the one naming rule of sources and bounce logs.
AccountName = Annotated[str, AfterValidator(partial(check_source_name, used="the name --via takes"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressAccount(_Strict):
    """One provider account; ``mailhook addresses create --via NAME`` makes addresses through it."""

    name: AccountName
    provider: str
    api_key: SecretStr = Field(min_length=1)
    #: The provider's API root; empty means the real service (set it for a fake or a proxy).
    base_url: str | None = None
    #: The domain new addresses are made on (``--domain`` overrides it per address).
    domain: str | None = None
    #: Our webhook URL (ProxiedMail, ImprovMX, Forward Email) or SMTP recipient (addy.io, mittwald).
    deliver_to: SecretStr
    project_id: str | None = None  # mittwald: the project that owns the domain
    recipient_id: str | None = None  # addy.io: skip looking deliver_to up among the recipients
    alias_format: Literal["random_characters", "uuid", "random_words"] = "random_characters"  # addy.io
    real_addresses: list[str] = Field(default_factory=list)  # ProxiedMail: also forward by mail
    #: 429 handling: how many times to retry, and the longest ``Retry-After`` we sleep for.
    max_retries: int = Field(default=2, ge=0, le=10)
    max_retry_wait_s: float = Field(default=60.0, ge=0, le=3600)
    timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("domain")
    @classmethod
    def _valid_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip(".").lower()
        if not _DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain name")
        return value


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
