"""``mailhook dev``: everything on one machine with no accounts — SQLite, an embedded Redis,
the web app and a worker — and the webhook URLs to paste into the providers."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import click

from service.cli.dev_redis import remove_record, write_record
from service.cli.embedded_redis import EmbeddedRedis, port_open, redis_address
from service.cli.runner import serve_all
from service.config import load_config
from service.providers import PROVIDERS
from service.settings import Settings
from service.store.db import make_engine
from service.store.migrate import upgrade

_STARTER_CONFIG = """\
# Created by `mailhook dev`. See mailhook.example.yaml for every option.
sources:
  - name: proxiedmail
    provider: proxiedmail
    secrets: [{proxiedmail}]
  - name: improvmx
    provider: improvmx
    secrets: [{improvmx}]
# slack:
#   webhook_url: ${{SLACK_WEBHOOK_URL}}
outbound:
  allow_hosts: []
# Mail sent over SMTP to these domains is accepted (never relayed); `mailhook dev` listens on 2525.
smtp:
  domains: [localhost, mailhook.test]
"""


def ensure_config(path: Path) -> bool:
    """Write a starter config with fresh random secrets when none exists; True if written."""
    if path.exists():
        return False
    path.write_text(_STARTER_CONFIG.format(proxiedmail=secrets.token_urlsafe(24), improvmx=secrets.token_urlsafe(24)))
    return True


def _redis_for_dev(settings: Settings) -> EmbeddedRedis | None:
    """Use the configured Redis when it answers; otherwise start a private one under ./var."""
    host, port = redis_address(settings.redis_url)
    if port_open(host, int(port or 6379)):
        return None
    return EmbeddedRedis(settings.data_dir / "redis").start()


def run_dev(settings: Settings, *, host: str, port: int, smtp_port: int = 2525) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if ensure_config(settings.config):
        click.echo(f"created {settings.config} with fresh secrets")
    config = load_config(settings.config, providers=PROVIDERS)
    upgrade(make_engine(settings))
    redis = _redis_for_dev(settings)
    if redis is not None:
        write_record(settings, redis.url)
        settings = settings.model_copy(update={"redis_url": redis.url})
        click.echo(f"started an embedded Redis at {redis.url} (data in {redis.data_dir})")
        click.echo("  other mailhook commands run here (replay, check, messages …) use it too")
    click.echo(f"database: {settings.database_url}")
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    click.echo("webhook URLs to paste into your providers (keep them secret):")
    for source in config.sources:
        secret = source.secrets[0].get_secret_value()
        click.echo(f"  {source.name:<14} ({source.provider}): {base}/hooks/{source.name}/{secret}")
    if config.smtp is not None:
        click.echo(f"  SMTP: {host}:{smtp_port} for {', '.join(config.smtp.domains)}")
    else:
        click.echo("SMTP: not configured; add smtp.domains to the config to accept mail over SMTP")
    if config.slack is None:
        click.echo("Slack: not configured; add slack.webhook_url to the config to get posts")
    click.echo(f"web inbox: {base}/ui (sign in with a token from: mailhook tokens create --name me --scope admin)")
    click.echo("Ctrl-C stops web, worker, SMTP and Redis.")
    try:
        asyncio.run(serve_all(settings, host=host, port=port, smtp_port=smtp_port if config.smtp else None))
    except KeyboardInterrupt:
        pass
    finally:
        if redis is not None:
            remove_record(settings)
            redis.stop()
