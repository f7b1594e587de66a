"""``mailhook bounces`` and ``mailhook suppressions``: listing, adding, removing, one-line errors."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result

from service.cli.main import cli
from service.config import SuppressionConfig
from service.mail.bounce import Kind, Reason
from service.settings import Settings
from service.store.bounce_writes import record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from tests.support.processes import mailhook_command, mailhook_env


@pytest.mark.parametrize(
    "command",
    [["bounces"], ["suppressions"], ["suppressions", "list"], ["suppressions", "add"], ["suppressions", "remove"]],
)
def test_every_bounce_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output, result.output


def _invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=mailhook_env(settings), catch_exceptions=False)


def _bounce(key: str, recipient: str, kind: Kind) -> BounceEventCreate:
    reason: Reason = "user_unknown" if kind == "hard" else "mailbox_full"
    return BounceEventCreate(
        source="ses",
        provider="ses",
        provider_event_id=key,
        recipient=recipient,
        kind=kind,
        reason=reason,
        occurred_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        status="5.1.1",
        diagnostic="550 5.1.1 user unknown",
    )


def test_bounces_lists_and_filters(settings: Settings) -> None:
    assert _invoke(settings, "bounces").output == "no bounces\n"
    record_events(
        make_engine(settings),
        [_bounce("a", "ghost@example.org", "hard"), _bounce("b", "full@example.org", "soft")],
        SuppressionConfig(),
    )
    listed = _invoke(settings, "bounces").output.splitlines()
    assert len(listed) == 2 and "ghost@example.org" in "".join(listed)
    hard = _invoke(settings, "bounces", "--kind", "hard").output
    assert "ghost@example.org" in hard and "full@example.org" not in hard
    [line] = _invoke(settings, "bounces", "--recipient", "FULL@example.org", "--json").output.splitlines()
    assert json.loads(line)["kind"] == "soft" and json.loads(line)["source"] == "ses"
    assert _invoke(settings, "bounces", "--kind", "bogus").exit_code == 2


def test_suppressions_add_list_remove(settings: Settings) -> None:
    assert _invoke(settings, "suppressions", "list").output == "no suppressed addresses\n"
    added = _invoke(settings, "suppressions", "add", "Ada@Example.org", "--reason", "asked us to stop", "--days", "30")
    assert added.exit_code == 0 and added.output.startswith("suppressed ada@example.org until ")
    listed = _invoke(settings, "suppressions", "list").output
    assert "ada@example.org" in listed and "manual" in listed and "asked us to stop" in listed
    [line] = _invoke(settings, "suppressions", "list", "--json").output.splitlines()
    assert json.loads(line)["expires_at"] is not None
    assert _invoke(settings, "suppressions", "remove", "ada@example.org").output == "removed ada@example.org\n"
    assert _invoke(settings, "suppressions", "list").output == "no suppressed addresses\n"


def test_errors_are_one_line(settings: Settings) -> None:
    missing = _invoke(settings, "suppressions", "remove", "nobody@example.org")
    assert missing.exit_code == 1 and missing.output == "error: nobody@example.org is not on the suppression list\n"
    bad = _invoke(settings, "suppressions", "add", "not-an-address")
    assert bad.exit_code == 1 and bad.output == "error: 'not-an-address' is not an email address\n"


def test_unreachable_database_is_one_line(settings: Settings) -> None:
    env = {**mailhook_env(settings), "MAILHOOK_DATABASE_URL": "postgresql://u:secret@127.0.0.1:9/x"}
    result = subprocess.run(mailhook_command("bounces"), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot reach the database" in result.stderr and "secret" not in result.stderr
