"""Process-wide settings, read once from ``MAILHOOK_*`` environment variables.

Built at start-up by the CLI (or a test) and passed down explicitly: nothing in Mailhook reads
``os.environ`` at import time, so tests can run many differently configured apps in one process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where Amazon SNS signing certificates may come from (scheme://host[:port], no userinfo),
#: as AWS's own validators check it; ``region`` must equal the topic's region.
SNS_CERT_ORIGIN = r"https://sns\.(?P<region>[a-z0-9-]{3,})\.amazonaws\.com(\.cn)?"


class Settings(BaseSettings):
    """Typed settings; every field is documented in the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="MAILHOOK_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="sqlite:///./var/mailhook.db",
        validation_alias=AliasChoices("MAILHOOK_DATABASE_URL", "DATABASE_URL"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("MAILHOOK_REDIS_URL", "REDIS_URL"),
    )
    database_busy_timeout_ms: int = 5000
    config: Path = Path("./mailhook.yaml")
    data_dir: Path = Path("./var")
    sentry_dsn: SecretStr | None = None
    environment: str = "production"
    max_body_bytes: int = 60 * 1024 * 1024
    trusted_proxies: list[str] = Field(default_factory=list)
    queue_name: str = "mailhook:queue"
    # Group commit: how long the writer waits for more deliveries before committing a batch,
    # and the most deliveries one transaction carries.
    commit_window_ms: float = 0.0
    commit_max_batch: int = 256
    worker_max_jobs: int = 32
    job_max_tries: int = 8
    #: A running job's lease: a worker that dies gives its jobs back to others within this long.
    job_lease_s: float = Field(default=15.0, gt=0.5)
    sweep_min_age_s: float = 10.0
    # ``GET /api/v1/wait``: the longest one request is held (longer timeouts are capped, and the
    # 408 says so), and the Redis channel stored-message notifications are published on.
    max_wait_s: float = Field(default=300.0, ge=0)
    notify_channel: str = "mailhook:stored"
    log_level: str = "INFO"
    #: Tests point this at a local fake certificate server; in production leave the default.
    sns_cert_origin: str = SNS_CERT_ORIGIN
    #: Where people reach Mailhook (``https://mail.example.com``): the web inbox shows webhook
    #: URLs under it, marks its cookie ``Secure`` when it is HTTPS (behind a TLS-terminating
    #: proxy), and accepts forms and the live stream only from its origin. Unset: each request's own.
    public_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        """Platforms hand out ``postgres://`` URLs; SQLAlchemy wants an explicit driver."""
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
