"""``mailhook bounces`` and ``mailhook suppressions list|add|remove`` (registered on the main group)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from service.mail.bounce import KINDS
from service.settings import Settings
from service.store.bounces import BounceEvent, list_bounces
from service.store.db import make_engine
from service.store.suppressions import (
    Suppressed,
    add_suppression,
    list_suppressions,
    normalise_address,
    remove_suppression,
)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@click.command()
@click.option("--recipient", help="Only bounces of this address (any case).")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind.")
@click.option("--source", help="Only bounces from this source or bounce_logs account.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per bounce per line.")
@click.pass_context
def bounces(
    ctx: click.Context, recipient: str | None, kind: str | None, source: str | None, limit: int, as_json: bool
) -> None:
    """List recorded bounce events (webhooks, pulled logs, bounce mail), newest first."""
    rows = list_bounces(make_engine(_settings(ctx)), recipient=recipient, kind=kind, source=source, limit=limit)
    for row in rows:
        click.echo(json.dumps(_bounce_json(row), ensure_ascii=False) if as_json else _bounce_line(row))
    if not rows and not as_json:
        click.echo("no bounces")


def _bounce_json(row: BounceEvent) -> dict[str, object]:
    fields = ("id", "recipient", "kind", "reason", "status", "reply_code", "diagnostic", "reporting_mta")
    more = ("original_message_id", "source", "provider", "message_id", "forwarded_message_id")
    data: dict[str, object] = {name: getattr(row, name) for name in (*fields, *more)}
    data["occurred_at"] = row.occurred_at.isoformat()
    return data


def _bounce_line(row: BounceEvent) -> str:
    when = row.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    status = row.status or "-"
    diagnostic = " ".join((row.diagnostic or "").split())[:80]
    forwarded = f"  forward of {row.forwarded_message_id}" if row.forwarded_message_id else ""
    return (
        f"{when}  {row.kind:<9} {row.reason:<16} {status:<7} {row.recipient}  [{row.source}]  {diagnostic}{forwarded}"
    )


@click.group()
def suppressions() -> None:
    """The suppression list: addresses forward_smtp and address-bound forward_http skip."""


@suppressions.command("list")
@click.option("--all", "include_expired", is_flag=True, help="Include entries that have expired.")
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, 100_000), help="How many, newest first."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry per line.")
@click.pass_context
def list_command(ctx: click.Context, include_expired: bool, limit: int, as_json: bool) -> None:
    """Show suppressed addresses and why."""
    entries = list_suppressions(make_engine(_settings(ctx)), include_expired=include_expired, limit=limit)
    for entry in entries:
        click.echo(json.dumps(entry.as_dict(), ensure_ascii=False) if as_json else _suppression_line(entry))
    if not entries and not as_json:
        click.echo("no suppressed addresses")


def _suppression_line(entry: Suppressed) -> str:
    since = entry.since.astimezone(UTC).strftime("%Y-%m-%d")
    until = f"  until {entry.expires_at.astimezone(UTC):%Y-%m-%d}" if entry.expires_at else ""
    return f"{entry.address}  {entry.kind:<9} since {since}{until}  [{entry.source or '-'}]  {entry.reason}"


@suppressions.command("add")
@click.argument("address")
@click.option("--reason", default="added by hand", show_default=True, help="Why (shown in step outputs).")
@click.option(
    "--days", type=click.FloatRange(min=0, min_open=True), help="Expire after this many days (default never)."
)
@click.pass_context
def add_command(ctx: click.Context, address: str, reason: str, days: float | None) -> None:
    """Suppress ADDRESS (replacing any entry it has)."""
    if "@" not in address or any(c.isspace() for c in address.strip()):
        click.echo(f"error: {address!r} is not an email address", err=True)
        sys.exit(1)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    entry = add_suppression(make_engine(_settings(ctx)), address, reason=reason, expires_at=expires)
    click.echo(f"suppressed {entry.address}" + (f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else ""))


@suppressions.command("remove")
@click.argument("address")
@click.pass_context
def remove_command(ctx: click.Context, address: str) -> None:
    """Stop suppressing ADDRESS."""
    if not remove_suppression(make_engine(_settings(ctx)), address):
        click.echo(f"error: {normalise_address(address)} is not on the suppression list", err=True)
        sys.exit(1)
    click.echo(f"removed {normalise_address(address)}")
