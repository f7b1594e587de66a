"""``mailhook wait``: block until a message arrives at an address, print it (or its code or link).

For shell scripts and CI steps in any language: it talks to a local or remote Mailhook through
the read API (``MAILHOOK_URL``, ``MAILHOOK_TOKEN``) with the sync client, so it needs neither the
database nor Redis. Failures are one line on stderr and an exit status, never a traceback.
"""

from __future__ import annotations

import json
import sys

import click

from service.client import MailhookClient, MailhookError, Summary, WaitResult, WaitTimeout, Want

#: Exit statuses (documented in --help): found, waited in vain, could not wait at all.
EXIT_FOUND, EXIT_TIMEOUT, EXIT_ERROR = 0, 1, 2


def describe(message: Summary) -> str:
    """One line for people: id, sender, subject and the code when there is one."""
    sender = message.from_.address if message.from_ else message.envelope_from or "-"
    code = f"  code: {message.code}" if message.code else ""
    return f"{message.id}  {sender}  {message.subject or '(no subject)'}{code}"


def render(result: WaitResult, picked: str | None, as_json: bool) -> str:
    if as_json:
        return json.dumps({"message": result.message.data, "cursor": result.cursor}, ensure_ascii=False)
    return picked if picked is not None else describe(result.message)


@click.command()
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Recipient; a base address also matches its +tags.")
@click.option("--from", "from_", metavar="ADDRESS", help="Only mail from this sender.")
@click.option("--subject", help="Only mail whose subject contains this.")
@click.option("--since", metavar="CURSOR", help="Only mail stored after this cursor (or ISO timestamp).")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait.",
)
@click.option("--claim", is_flag=True, help="Take the message so no other claiming waiter gets it.")
@click.option("--code", "want_code", is_flag=True, help="Print only the one-time code (waits for mail that has one).")
@click.option("--link", "want_link", is_flag=True, help="Print only the first link (waits for mail that has one).")
@click.option("--json", "as_json", is_flag=True, help="Print the message and the next cursor as JSON.")
def wait(
    to: str,
    from_: str | None,
    subject: str | None,
    since: str | None,
    timeout: float,
    claim: bool,
    want_code: bool,
    want_link: bool,
    as_json: bool,
) -> None:
    """Wait for a message to ADDRESS and print it, its code (--code) or its link (--link).

    Talks to MAILHOOK_URL (default http://127.0.0.1:8000) with the token in MAILHOOK_TOKEN.
    Exit status: 0 found, 1 nothing arrived within --timeout, 2 any other error.
    """
    if want_code + want_link + as_json > 1:
        raise click.UsageError("choose one of --code, --link and --json")
    want = Want.code() if want_code else Want.link() if want_link else Want.message()
    try:
        with MailhookClient() as client:
            result = client.wait(to, want, from_=from_, subject=subject, since=since, timeout=timeout, claim=claim)
    except WaitTimeout as exc:
        click.echo(f"mailhook wait: {exc}", err=True)
        sys.exit(EXIT_TIMEOUT)
    except MailhookError as exc:
        click.echo(f"mailhook wait: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    picked = want.pick(result.message) if want_code or want_link else None
    click.echo(render(result, picked, as_json))
