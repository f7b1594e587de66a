"""``mailhook addresses create|delete|list`` against a fake ImprovMX: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from service.cli.main import cli
from service.settings import Settings
from tests.support.fakes.cases import WEBHOOK
from tests.support.fakes.improvmx import FakeImprovMX
from tests.support.processes import mailhook_command, mailhook_env
from tests.support.servers import serve_in_thread

Invoke = Callable[..., Result]


@pytest.fixture
def improvmx() -> Iterator[tuple[FakeImprovMX, str]]:
    fake = FakeImprovMX()
    with serve_in_thread(fake.app()) as base:
        yield fake, base


@pytest.fixture
def mailhook(settings: Settings, improvmx: tuple[FakeImprovMX, str]) -> Invoke:
    fake, base = improvmx
    settings.config.write_text(
        textwrap.dedent(f"""
        addresses:
          - name: imx
            provider: improvmx
            api_key: ${{IMX_KEY}}
            base_url: {base}/v3
            domain: example.com
            deliver_to: {WEBHOOK}
            max_retries: 0
        """)
    )
    env = {**mailhook_env(settings), "IMX_KEY": fake.api_key}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["addresses", *args], env=env)

    return invoke


@pytest.mark.parametrize("command", [[], ["create"], ["delete"], ["list"]])
def test_every_addresses_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, ["addresses", *command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_create_list_delete(mailhook: Invoke, improvmx: tuple[FakeImprovMX, str]) -> None:
    fake, _ = improvmx

    created = mailhook("create", "--via", "imx", "--local-part", "signup")
    assert (created.exit_code, created.stdout) == (0, "signup@example.com\n"), created.output
    assert fake.aliases["example.com"]["signup"]["forward"] == WEBHOOK

    listed = mailhook("list")
    assert listed.exit_code == 0 and listed.stdout.startswith("signup@example.com  imx")
    as_json = [json.loads(line) for line in mailhook("list", "--json").stdout.splitlines()]
    assert [(r["address"], r["via"]) for r in as_json] == [("signup@example.com", "imx")]
    assert mailhook("list", "--via", "imx", "--remote").stdout.startswith("signup@example.com  imx")

    made = json.loads(mailhook("create", "--via", "improvmx", "--json").stdout)
    assert made["via"] == "imx" and made["address"].endswith("@example.com")

    deleted = mailhook("delete", "signup@example.com")
    assert (deleted.exit_code, deleted.stdout) == (0, "deleted signup@example.com (via imx)\n")
    assert "signup" not in fake.aliases["example.com"]
    assert mailhook("delete", made["address"]).exit_code == 0
    assert mailhook("list").stdout == "no addresses\n"


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (
            ["create", "--via", "imx"],
            "bad_key",
            "error: imx: improvmx refused the API key (POST /v3/domains/example.com/aliases/ -> 401; check api_key): "
            "api_key: Authentication required: invalid API key.",
        ),
        (
            ["create", "--via", "imx"],
            "throttle",
            "error: imx: rate limited by improvmx (429) after 1 attempt(s); the provider asks to wait 1 s: "
            "api: Too many requests, slow down.",
        ),
        (["create", "--via", "nosuch"], None, "error: no address account 'nosuch' (configured: imx)"),
        (
            ["create", "--via", "imx", "--local-part", "a b"],
            None,
            "error: local part 'a b': use 1-64 of a-z 0-9 . _ + - (not first or last)",
        ),
        (
            ["delete", "nobody@example.com"],
            None,
            "error: nobody@example.com was not made by this Mailhook; pass --via ACCOUNT to remove it at a provider",
        ),
        (["list", "--remote"], None, "error: --remote needs --via ACCOUNT"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    mailhook: Invoke, improvmx: tuple[FakeImprovMX, str], args: list[str], setup: str | None, message: str
) -> None:
    fake, _ = improvmx
    if setup == "bad_key":
        fake.api_key = "rotated"
    elif setup == "throttle":
        fake.rate_limit_next(1, retry_after="1")

    result = mailhook(*args)

    assert result.exit_code == 1
    assert result.stderr == message + "\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_broken_config_exits_2(mailhook: Invoke, settings: Settings) -> None:
    settings.config.write_text("addresses:\n  - {name: x, provider: improvmx, api_key: k, deliver_to: a@b.example}\n")
    result = mailhook("list")
    assert result.exit_code == 2
    assert result.stderr.startswith("configuration error: ")
    assert "addresses.0: Value error, provider improvmx needs domain" in result.stderr


def test_the_installed_command_prints_no_traceback(settings: Settings, mailhook: Invoke) -> None:
    env = mailhook_env(settings, IMX_KEY="wrong")
    result = subprocess.run(
        mailhook_command("addresses", "create", "--via", "imx"), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: imx: improvmx refused the API key")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
