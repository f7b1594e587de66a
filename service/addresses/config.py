"""The ``addresses:`` section of ``mailhook.yaml``: provider accounts that can make addresses.

```yaml
addresses:
  - name: pm
    provider: proxiedmail
    api_key: ${PROXIEDMAIL_API_KEY}
    deliver_to: https://mailhook.example.com/hooks/proxiedmail/${PROXIEDMAIL_HOOK_SECRET}
  - name: addy
    provider: addy
    api_key: ${ADDY_API_KEY}
    domain: anonaddy.me
    deliver_to: inbox@mx.mailhook.example.com   # a verified addy.io recipient our SMTP accepts
```

``deliver_to`` is a secret: for webhook providers it is our hook URL with the source secret in
its path. Imports nothing from ``service.config`` (which imports this module for ``AppConfig``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from service.addresses.registry import ADDRESS_PROVIDERS

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]+$")
#: Fields that only some providers use; setting one for another provider is a mistake we report.
_PROVIDER_FIELDS = ("project_id", "recipient_id", "alias_format", "real_addresses")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddressAccount(_Strict):
    """One provider account; ``mailhook addresses create --via NAME`` makes addresses through it."""

    name: str
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

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in ADDRESS_PROVIDERS:
            raise ValueError(f"unknown provider {value!r}; known: {', '.join(sorted(ADDRESS_PROVIDERS))}")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_http_url(value):
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

    @model_validator(mode="after")
    def _fits_provider(self) -> AddressAccount:
        provider = ADDRESS_PROVIDERS[self.provider]
        missing = [f for f in provider.required_fields if not getattr(self, f)]
        if missing:
            raise ValueError(f"provider {self.provider} needs {', '.join(missing)}")
        stray = [f for f in _PROVIDER_FIELDS if f in self.model_fields_set and f not in provider.extra_fields]
        if stray:
            raise ValueError(f"{', '.join(stray)} is not used by provider {self.provider}")
        target = self.deliver_to.get_secret_value()
        if provider.deliver_to == "url" and not _is_http_url(target):
            raise ValueError(
                f"deliver_to must be this Mailhook's webhook URL for {self.provider} (http:// or https://)"
            )
        if provider.deliver_to == "email" and not _EMAIL.match(target):
            raise ValueError(
                f"deliver_to must be an e-mail address that reaches this Mailhook's SMTP for {self.provider}"
            )
        return self


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _unique_names(accounts: list[AddressAccount]) -> list[AddressAccount]:
    names = [a.name for a in accounts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate address account names: {', '.join(dupes)}")
    return accounts


#: The type of ``AppConfig.addresses``.
AddressAccounts = Annotated[list[AddressAccount], AfterValidator(_unique_names)]
