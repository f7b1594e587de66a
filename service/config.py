"""The user's ``mailhook.yaml``: sources, Slack target, outbound policy (and, later, pipelines).

``${VAR}`` and ``${VAR:-default}`` are expanded from the environment before validation so that
secrets never need to live in the file. Validation errors name the exact key that is wrong.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Collection, Mapping
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from service.addresses.config import AddressAccounts
from service.smtp.config import SmtpConfig
from service.source_name import BounceSourceName, SourceName, repeated, unique

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: How the error messages tell users to make a good secret.
MAKE_SECRET = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; ``str()`` says where and why."""


class SourceRules(Protocol):
    """What config validation asks of a registered provider class (``service.providers``)."""

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        """Raise ``ValueError`` when the source lacks what this provider needs."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """One place mail comes from: a provider account posting to ``/hooks/{name}``."""

    name: SourceName
    provider: str
    secrets: list[SecretStr] = Field(min_length=1)
    signing_keys: list[SecretStr] = Field(default_factory=list)
    allow_ips: list[str] = Field(default_factory=list)
    max_body_bytes: int | None = None
    #: Amazon SNS sources (``ses``, ``ses-inbound``): the topics this source accepts. Anyone can
    #: point a topic of theirs at a URL, so messages from other topics are refused.
    topic_arns: list[str] = Field(default_factory=list)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str, info: ValidationInfo) -> str:
        # The registry is passed in by the loader (``providers=``): providers import this module,
        # so the config cannot import them. Processes that serve no hooks (the worker) pass none.
        known: Collection[str] | None = (info.context or {}).get("providers")
        if known is not None and value not in known:
            raise ValueError(f"unknown provider {value!r}; known: {', '.join(sorted(known))}")
        return value

    @field_validator("secrets")
    @classmethod
    def _long_secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(secret.get_secret_value()) < 16 for secret in value):
            raise ValueError(f"each secret must be at least 16 characters ({MAKE_SECRET})")
        return value

    @field_validator("allow_ips")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @model_validator(mode="after")
    def _provider_requirements(self, info: ValidationInfo) -> SourceConfig:
        """Some providers need more than a secret (Forward Email bounces are always signed, SNS
        sources name their topics); the registry's classes say what in ``check_source``."""
        registry = (info.context or {}).get("providers")
        if isinstance(registry, Mapping) and self.provider in registry:
            rules: type[SourceRules] = registry[self.provider]
            rules.check_source(self)
        return self

    def secret_values(self) -> list[bytes]:
        return [s.get_secret_value().encode() for s in self.secrets]


class SlackConfig(_Strict):
    """Default Slack incoming-webhook target."""

    webhook_url: SecretStr
    timeout_s: float = 10.0


class OutboundConfig(_Strict):
    """Hosts that outbound requests may reach even though they resolve to private addresses."""

    allow_hosts: list[str] = Field(default_factory=list)


class SuppressionConfig(_Strict):
    """When bounces put an address on the suppression list (hard bounces and complaints always)."""

    soft_bounce_limit: int = Field(default=3, ge=1)
    soft_bounce_window_days: float = Field(default=7.0, gt=0)
    #: Days after which an entry stops applying (``null``: suppressed until removed).
    expire_after_days: float | None = Field(default=None, gt=0)


class BounceLogAccount(_Strict):
    """A provider account whose delivery-failure log a worker cron job pulls (ImprovMX, addy.io)."""

    name: BounceSourceName
    provider: Literal["improvmx", "addy"]
    api_key: SecretStr
    #: The provider's API root; only tests (local fakes) and self-hosted addy.io change it.
    base_url: str | None = None
    #: ImprovMX logs are read per domain; addy.io lists the whole account's failed deliveries.
    domain: str | None = None
    interval_s: float = Field(default=300.0, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _domain_for_improvmx(self) -> BounceLogAccount:
        if self.provider == "improvmx" and not self.domain:
            raise ValueError("improvmx accounts need `domain`: ImprovMX keeps its logs per domain")
        return self


class AppConfig(_Strict):
    """The whole file. New top-level sections (pipelines, routes, smtp) are added here."""

    sources: Annotated[list[SourceConfig], unique(attrgetter("name"), "source names")] = Field(default_factory=list)
    slack: SlackConfig | None = None
    # Validated structurally here and compiled by the worker (workers.pipeline.config), which
    # owns the step registry; `mailhook check` runs both.
    pipelines: dict[str, list[str | dict[str, Any]]] = Field(default_factory=dict)
    routes: list[dict[str, Any]] = Field(default_factory=list)
    outbound: OutboundConfig = OutboundConfig()
    trusted_proxies: list[str] = Field(default_factory=list)
    smtp: SmtpConfig | None = None
    #: Provider accounts that make addresses delivering here (``mailhook addresses``, issue 10).
    addresses: AddressAccounts = Field(default_factory=list)
    suppression: SuppressionConfig = SuppressionConfig()
    bounce_logs: list[BounceLogAccount] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_bounce_sources(self) -> AppConfig:
        """A pulled account's name is the ``source`` of its bounce events, so it must not be
        shared with another account or a hook source."""
        names = [a.name for a in self.bounce_logs]
        clashes = sorted({*repeated(names), *{s.name for s in self.sources}.intersection(names)})
        if clashes:
            raise ValueError(f"bounce_logs names must be unique and differ from source names: {', '.join(clashes)}")
        return self

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is an error."""
    env = os.environ if environ is None else environ

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is referenced in the config but not set")

    return _ENV_REF.sub(_sub, text)


def _expand_values(node: Any, environ: dict[str, str] | None) -> Any:
    """Expand ``${VAR}`` inside string values only: comments are untouched, and a variable's
    value can never inject YAML structure."""
    if isinstance(node, str):
        return expand_env(node, environ)
    if isinstance(node, list):
        return [_expand_values(item, environ) for item in node]
    if isinstance(node, dict):
        return {key: _expand_values(value, environ) for key, value in node.items()}
    return node


def parse_config(
    text: str,
    *,
    origin: str = "<config>",
    environ: dict[str, str] | None = None,
    providers: Collection[str] | None = None,
) -> AppConfig:
    """Validate a config file's text. ``providers`` (the registry's names) lets every source's
    ``provider:`` be checked; pass ``PROVIDERS`` from ``service.providers`` wherever hooks are served."""
    try:
        data: Any = _expand_values(yaml.safe_load(text), environ) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of sections")
    try:
        return AppConfig.model_validate(data, context={"providers": providers})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(origin, exc)) from None


def load_config(
    path: Path, *, environ: dict[str, str] | None = None, providers: Collection[str] | None = None
) -> AppConfig:
    """Read and validate the file; a missing file means "no sources yet", not an error."""
    if not path.exists():
        return AppConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, origin=str(path), environ=environ, providers=providers)


def format_validation_error(origin: str, exc: ValidationError) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s):"]
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)


class ConfigHolder:
    """The config in force. ``reload`` swaps it atomically; a broken file leaves the old one."""

    def __init__(self, path: Path, current: AppConfig, providers: Collection[str] | None = None) -> None:
        self.path = path
        self.current = current
        self.providers = providers

    @classmethod
    def load(cls, path: Path, *, providers: Collection[str] | None = None) -> ConfigHolder:
        return cls(path, load_config(path, providers=providers), providers)

    def reload(self, validate: Callable[[AppConfig], object] | None = None) -> AppConfig:
        """Raise ``ConfigError`` (keeping the previous config) when the new file is invalid;
        ``validate`` adds checks of the caller's own (the worker compiles pipelines)."""
        candidate = load_config(self.path, providers=self.providers)
        if validate is not None:
            validate(candidate)
        self.current = candidate
        return self.current
