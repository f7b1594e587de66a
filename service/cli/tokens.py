"""``mailhook tokens create|list|revoke``: bearer tokens for the read API."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import Scope, TokenNameTaken, create_token, list_tokens, revoke_token


def iso_minutes(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@click.group()
def tokens() -> None:
    """API tokens (Authorization: Bearer …) for /api/v1; only their sha256 is stored."""


@tokens.command("create")
@click.option("--name", required=True, help="A label for the token (unique among active tokens).")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    default="read",
    show_default=True,
    help="read: list, read and wait; admin: also delete and replay messages, make and remove addresses, "
    "change the suppression list.",
)
@click.pass_context
def create(ctx: click.Context, name: str, scope: str) -> None:
    """Create a token and print it once (it cannot be shown again)."""
    try:
        token, row = create_token(make_engine(_settings(ctx)), name=name, scope=Scope(scope))
    except TokenNameTaken as exc:
        click.echo(f"error: {exc}; revoke it first (mailhook tokens revoke {name})", err=True)
        sys.exit(1)
    click.echo(token)
    click.echo(f"token {row.id} {name!r} ({scope}) created; store it now, it is not shown again", err=True)


@tokens.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List tokens (never their text)."""
    rows = list_tokens(make_engine(_settings(ctx)))
    for row in rows:
        state = f"revoked {iso_minutes(row.revoked_at)}" if row.revoked_at else "active"
        used = iso_minutes(row.last_used_at) if row.last_used_at else "never"
        click.echo(
            f"{row.id:>4}  {row.name:<20}  {row.scope:<5}  created {iso_minutes(row.created_at)}  "
            f"last used {used}  {state}"
        )
    if not rows:
        click.echo("no tokens")


@tokens.command("revoke")
@click.argument("name_or_id")
@click.pass_context
def revoke(ctx: click.Context, name_or_id: str) -> None:
    """Revoke the active token(s) named NAME_OR_ID, or the token with that id."""
    count = revoke_token(make_engine(_settings(ctx)), name_or_id)
    if not count:
        click.echo(f"no active token named or numbered {name_or_id!r}", err=True)
        sys.exit(1)
    click.echo(f"revoked {count} token(s)")
