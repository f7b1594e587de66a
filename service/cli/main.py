"""``mailhook``: the one command-line entry point (serve, worker, dev, migrate, check, replay …)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import click
from pydantic import ValidationError

from service.api.content import MessageContent
from service.api.views import recipient
from service.cli.addresses import addresses
from service.cli.bounces import bounces, suppressions
from service.cli.checks import run_checks
from service.cli.dev import run_dev
from service.cli.dev_redis import with_dev_redis
from service.cli.failures import UNREACHABLE, describe_unreachable
from service.cli.inspect import inspect
from service.cli.runner import run_worker, serve_web
from service.cli.smtp import smtp
from service.cli.tokens import tokens
from service.cli.wait import wait
from service.cli.web import ExtractorReader
from service.config import ConfigError
from service.handoff.replay import replay_message
from service.runtime.logs import configure_logging
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.messages import list_messages
from service.store.migrate import upgrade
from service.store.models import MessageStatus
from service.store.runs import list_runs, step_runs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Mailhook: inbound email from forwarding providers and SMTP, verified, stored and piped
    onwards; bounce reports recorded and honoured.

    Configuration comes from MAILHOOK_* environment variables (see README) and the YAML file
    named by MAILHOOK_CONFIG (default ./mailhook.yaml).
    """
    ctx.obj = with_dev_redis(Settings())
    configure_logging(ctx.obj.log_level)


_host = click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
_port = click.option("--port", default=8000, show_default=True, type=int, help="TCP port to listen on.")


def _listen(command: Callable[..., None]) -> Callable[..., None]:
    """``--host`` and ``--port``: where a command that serves HTTP listens."""
    return _host(_port(command))


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@cli.command()
@_listen
@click.option("--workers", default=1, show_default=True, type=int, help="Web processes (uvicorn workers).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Run the web app under uvicorn.

    It serves webhook ingest (/hooks/SOURCE/SECRET), the read API (/api/v1, bearer tokens from
    `mailhook tokens`), the web inbox (/ui, signed in with a token), health (/livez, /readyz)
    and /openapi.json. Pipelines run in `mailhook worker`, SMTP in `mailhook smtp`.
    """
    serve_web(_settings(ctx), host=host, port=port, workers=workers)


@cli.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit (no sweeps or pulls).")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run the arq worker: each stored message's bounce check, routes and pipeline, a sweep that
    queues mail stored but never queued, and the pulls of the `bounce_logs` accounts."""
    sys.exit(run_worker(_settings(ctx), burst=burst))


@cli.command()
@_listen
@click.option("--smtp-port", default=2525, show_default=True, type=int, help="SMTP port (when `smtp:` is configured).")
@click.pass_context
def dev(ctx: click.Context, host: str, port: int, smtp_port: int) -> None:
    """Web + worker (+ SMTP when `smtp:` is configured) in one process; Ctrl-C stops them all.

    Writes a starter config with fresh secrets if none exists, applies migrations to the
    configured database (default: the local SQLite file) and uses the configured Redis, or
    starts an embedded one when none answers. Prints the webhook URLs to paste into providers
    and the web inbox's URL.
    """
    run_dev(_settings(ctx), host=host, port=port, smtp_port=smtp_port)


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply database migrations (alembic upgrade head)."""
    engine = make_engine(_settings(ctx))
    click.echo(f"migrating {engine.url.render_as_string(hide_password=True)} …")
    upgrade(engine)
    click.echo("database is at the latest revision")


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config file, reach the database (and see its migrations applied) and Redis;
    exit 1 on any problem."""
    ok = asyncio.run(run_checks(_settings(ctx), click.echo))
    sys.exit(0 if ok else 1)


@cli.command()
@click.argument("message_id")
@click.option("--resume", is_flag=True, help="Resume the failed run at the failed step instead of re-running all.")
@click.pass_context
def replay(ctx: click.Context, message_id: str, resume: bool) -> None:
    """Queue MESSAGE_ID to run its pipeline again (any stored message; usually a failed one)."""
    sys.exit(asyncio.run(replay_message(_settings(ctx), message_id, resume=resume, echo=click.echo)))


@cli.command()
@click.option("--status", type=click.Choice([s.value for s in MessageStatus]), help="Only this status.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first.")
@click.pass_context
def messages(ctx: click.Context, status: str | None, limit: int) -> None:
    """List stored messages, newest first, with recipient and code (``--status failed``: what needs a replay)."""
    settings = _settings(ctx)
    rows = list_messages(make_engine(settings), status=MessageStatus(status) if status else None, limit=limit)
    content = MessageContent(ExtractorReader(), BlobStore(settings.blob_dir))
    for row in rows:
        error = f"  error: {row.error}" if row.error else ""
        code = content.extracted(row).code or "-"
        click.echo(
            f"{row.id}  {row.status:<10}  {row.source:<12}  {recipient(row) or '-'}  code={code}  "
            f"{row.subject or '(no subject)'}{error}"
        )
    if not rows:
        click.echo("no messages")


@cli.command()
@click.option("--failed", is_flag=True, help="Only dead-lettered runs (retry budget spent or a final error).")
@click.option("--message", "message_id", help="Only runs of this message.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first.")
@click.pass_context
def runs(ctx: click.Context, failed: bool, message_id: str | None, limit: int) -> None:
    """List pipeline runs with their steps; replay failed ones with `mailhook replay`."""
    engine = make_engine(_settings(ctx))
    rows = list_runs(engine, status="failed" if failed else None, message_id=message_id, limit=limit)
    for run in rows:
        assert run.id is not None
        route = f" route={run.route}" if run.route else ""
        click.echo(f"run {run.id}  {run.status:<9} message={run.message_id} pipeline={run.pipeline}{route}")
        for step in sorted(step_runs(engine, run.id).values(), key=lambda s: s.position):
            took = f" {step.duration_ms:.0f}ms" if step.duration_ms is not None else ""
            error = f"  error: {step.error}" if step.error else ""
            click.echo(f"    {step.position}. {step.name:<12} {step.status:<9} attempts={step.attempts}{took}{error}")
    if not rows:
        click.echo("no failed runs" if failed else "no runs")


cli.add_command(smtp)
cli.add_command(inspect)
cli.add_command(addresses)
cli.add_command(wait)
cli.add_command(bounces)
cli.add_command(suppressions)
cli.add_command(tokens)


def main() -> None:
    try:
        cli(auto_envvar_prefix=None)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:  # MAILHOOK_* variables that do not fit their type
        click.echo(f"settings error (MAILHOOK_* environment): {exc}", err=True)
        sys.exit(2)
    except UNREACHABLE as exc:
        click.echo(describe_unreachable(exc, with_dev_redis(Settings())), err=True)
        sys.exit(1)
