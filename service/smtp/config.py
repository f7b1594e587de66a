"""The ``smtp:`` section of ``mailhook.yaml``.

Imports nothing from ``service.config`` (which imports this module for ``AppConfig.smtp``).
Domains are stored normalised (lower case, IDNA, no trailing dot) so the RCPT check is a set lookup.
"""

from __future__ import annotations

import re
from operator import attrgetter
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from service.source_name import SourceName, unique

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_MIN_PASSWORD = 16


def normalise_domain(domain: str) -> str:
    """Lower case, no trailing dot, IDNA-encoded: the form both config and RCPT domains are compared in."""
    domain = domain.strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpUser(_Strict):
    """One AUTH (PLAIN/LOGIN) credential; several may be listed so passwords can be rotated."""

    username: str = Field(min_length=1)
    password: SecretStr

    @field_validator("password")
    @classmethod
    def _long_password(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < _MIN_PASSWORD:
            make = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            raise ValueError(f"must be at least {_MIN_PASSWORD} characters (make one with: {make})")
        return value


class SmtpConfig(_Strict):
    """SMTP server options; cert, auth, size, connection-cap and timeout changes need a restart,
    domains and users do not."""

    domains: list[str] = Field(min_length=1)
    source: SourceName = "smtp"
    max_message_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    #: Sessions open at once, in total and per client IP; more are greeted 421 and closed
    #: (each session may hold a message of up to ``max_message_bytes`` in memory).
    max_connections: int = Field(default=100, gt=0)
    max_connections_per_ip: int = Field(default=20, gt=0)
    #: Seconds a session may sit without a command before it is closed (RFC 5321 §4.5.3.2: 5 min).
    idle_timeout_s: float = Field(default=300.0, gt=0)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_tls: bool = False
    auth_users: Annotated[list[SmtpUser], unique(attrgetter("username"), "usernames")] = Field(default_factory=list)
    #: ``None`` means "required exactly when ``auth_users`` is not empty".
    auth_required: bool | None = None
    #: Passwords never cross the network in clear unless this is explicitly turned off
    #: (loopback, or a TLS-terminating proxy in front).
    auth_require_tls: bool = True
    hostname: str | None = None
    #: Rewrite sender/alias of mail forwarded by addy.io (see ``service.smtp.addy``).
    addy_recovery: bool = True

    @field_validator("domains")
    @classmethod
    def _valid_domains(cls, value: list[str]) -> list[str]:
        normalised = [normalise_domain(d) for d in value]
        bad = [d for d in normalised if not _DOMAIN.match(d)]
        if bad:
            raise ValueError(f"not a domain name: {', '.join(bad)} (list bare domains, e.g. mail.example.com)")
        return list(dict.fromkeys(normalised))

    @model_validator(mode="after")
    def _consistent(self) -> SmtpConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        if self.require_tls and self.tls_cert is None:
            raise ValueError("require_tls needs tls_cert and tls_key")
        if self.auth_required and not self.auth_users:
            raise ValueError("auth_required is true but auth_users is empty: nobody could send")
        if self.auth_users and self.auth_require_tls and self.tls_cert is None:
            raise ValueError(
                "auth_users without tls_cert/tls_key would send passwords in clear; "
                "configure TLS or set auth_require_tls: false"
            )
        return self

    @property
    def requires_auth(self) -> bool:
        return bool(self.auth_users) if self.auth_required is None else self.auth_required

    def accepts_domain(self, domain: str) -> bool:
        """Exact match only: a subdomain is accepted only when it is listed itself."""
        return normalise_domain(domain) in self.domains
