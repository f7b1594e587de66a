"""``mailhook smtp``: registered on the main group with ``cli.add_command(smtp)``."""

from __future__ import annotations

import click

from service.settings import Settings
from service.smtp.server import run_smtp


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=2525, show_default=True, type=int, help="TCP port to listen on.")
@click.pass_context
def smtp(ctx: click.Context, host: str, port: int) -> None:
    """Receive mail by SMTP (addy.io, mittwald forwards, any MTA) for the domains in `smtp:`.

    Each message is stored and queued exactly like a webhook delivery; the sender gets 250 only
    after the message is committed, 451 (retry later) when the database is unavailable.
    """
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    run_smtp(settings, host=host, port=port)
