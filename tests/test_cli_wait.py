"""`mailhook wait` against the fake read API: what it prints, its exit statuses, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from service.cli.embedded_redis import free_port
from service.cli.main import cli
from tests.support.fakes.mailhook_api import READ_TOKEN, FakeMailhookAPI
from tests.support.processes import mailhook_command
from tests.support.servers import serve_in_thread

TO = "signup+cli@qa.example.com"


@pytest.fixture
def fake() -> FakeMailhookAPI:
    return FakeMailhookAPI(max_wait_s=0.2)


@pytest.fixture
def fake_url(fake: FakeMailhookAPI) -> Iterator[str]:
    with serve_in_thread(fake.app()) as base:
        yield base


def run(url: str, *args: str, token: str | None = READ_TOKEN) -> Result:
    env = {"MAILHOOK_URL": url, "MAILHOOK_TOKEN": token or ""}
    return CliRunner().invoke(cli, ["wait", "--to", TO, *args], env=env)


def test_wait_prints_a_line_for_the_message(fake_url: str, fake: FakeMailhookAPI) -> None:
    stored = fake.deliver(TO, subject="Confirm your account", code="731904")
    result = run(fake_url, "--since", "c:0", "--timeout", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{stored['id']}  no-reply@example.net  Confirm your account  code: 731904\n"


def test_wait_code_prints_only_the_code(fake_url: str, fake: FakeMailhookAPI) -> None:
    fake.deliver(TO, subject="Welcome")
    timer = threading.Timer(0.5, lambda: fake.deliver(TO, code="048213"))
    timer.start()
    result = run(fake_url, "--since", "c:0", "--code", "--timeout", "5")
    assert (result.exit_code, result.stdout) == (0, "048213\n")


def test_wait_link_and_json(fake_url: str, fake: FakeMailhookAPI) -> None:
    fake.deliver(TO, links=("https://w.example/verify?t=1", "https://w.example/shop"))
    assert run(fake_url, "--since", "c:0", "--link").stdout == "https://w.example/verify?t=1\n"
    answer = json.loads(run(fake_url, "--since", "c:0", "--json", "--claim").stdout)
    assert answer["cursor"] == "c:1" and answer["message"]["links"][1] == "https://w.example/shop"
    assert fake.requests[-1][2] == {"to": TO, "since": "c:0", "timeout": "60", "claim": "true"}


def test_wait_passes_from_and_subject(fake_url: str, fake: FakeMailhookAPI) -> None:
    fake.deliver(TO, subject="Reset your password", sender="a@example.org")
    result = run(fake_url, "--since", "c:0", "--from", "a@example.org", "--subject", "Reset", "--timeout", "1")
    assert result.exit_code == 0
    assert fake.requests[-1][2]["from"] == "a@example.org" and fake.requests[-1][2]["subject"] == "Reset"


def test_wait_timeout_exits_1_with_one_line(fake_url: str) -> None:
    result = run(fake_url, "--subject", "Confirm", "--timeout", "0.5")
    assert result.exit_code == 1
    assert result.stderr == f"mailhook wait: no message to {TO} with subject containing 'Confirm' within 0.5 s\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "missing or invalid bearer token (HTTP 401 from GET /api/v1/wait; no token given: set MAILHOOK_TOKEN)"),
        ("mh_wrong", "missing or invalid bearer token (HTTP 401 from GET /api/v1/wait)"),
    ],
)
def test_wait_auth_errors_exit_2_with_one_line(fake_url: str, token: str | None, expected: str) -> None:
    result = run(fake_url, "--timeout", "1", token=token)
    assert (result.exit_code, result.stderr) == (2, f"mailhook wait: {expected}\n")


def test_wait_refuses_two_output_modes(fake_url: str) -> None:
    result = run(fake_url, "--code", "--json")
    assert result.exit_code == 2 and "choose one of --code, --link and --json" in result.stderr


def test_wait_as_a_process_never_shows_a_traceback() -> None:
    """The real entry point: unreachable server, then a URL that is not one."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILHOOK_")}
    url = f"http://127.0.0.1:{free_port()}"
    for mailhook_url, expected in [
        (url, f"mailhook wait: cannot reach Mailhook at {url}: "),
        ("localhost:8000", "mailhook wait: the Mailhook URL 'localhost:8000' must look like http(s)://HOST[:PORT]"),
    ]:
        env = base_env | {"MAILHOOK_URL": mailhook_url}
        done = subprocess.run(
            mailhook_command("wait", "--to", TO, "--timeout", "1"), env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1, done.stderr
