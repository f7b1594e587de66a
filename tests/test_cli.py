"""The `mailhook` command: --help everywhere, check, migrate, messages, and `dev` end to end."""

from __future__ import annotations

import re
import signal
import smtplib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from service.cli.embedded_redis import free_port, port_open
from service.cli.main import cli
from service.settings import Settings
from tests.conftest import fixture_bytes
from tests.support.processes import mailhook_command, mailhook_env, wait_http

COMMANDS = ["serve", "worker", "dev", "smtp", "migrate", "check", "replay", "messages", "runs", "inspect", "wait"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_serve_and_dev_take_host_and_port() -> None:
    for command in ("serve", "dev"):
        output = CliRunner().invoke(cli, [command, "--help"]).output
        assert "--host" in output and "--port" in output


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mailhook_command(*args), env=mailhook_env(settings), capture_output=True, text=True, timeout=60
    )


def test_check_passes_on_a_good_setup(settings: Settings, write_config: Callable[..., Path]) -> None:
    write_config()
    result = _run(settings, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config: ok (2 source(s), 1 pipeline(s), 0 route(s)" in result.stdout
    assert "database: ok" in result.stdout and "redis: ok" in result.stdout


def test_check_names_the_broken_key(settings: Settings) -> None:
    settings.config.write_text("sources:\n  - name: x\n    provider: nosuch\n    secrets: [short]\n")
    result = _run(settings, "check")
    assert result.returncode == 1
    assert "sources.0.provider: Value error, unknown provider 'nosuch'" in result.stdout
    assert "sources.0.secrets: Value error, each secret must be at least 16 characters" in result.stdout


def test_check_reports_unreachable_redis_and_unmigrated_database(
    settings: Settings, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    write_config()
    broken = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{free_port()}/0", "database_url": f"sqlite:///{tmp_path}/new.db"}
    )
    result = _run(broken, "check")
    assert result.returncode == 1
    assert "redis: UNREACHABLE" in result.stdout
    assert "migration(s) pending; run `mailhook migrate`" in result.stdout
    assert _run(broken, "migrate").returncode == 0
    assert "database: ok" in _run(broken, "check").stdout


def test_dev_starts_everything_prints_urls_and_stops_on_ctrl_c(tmp_path: Path, settings: Settings) -> None:
    port = free_port()
    dead_redis = free_port()
    env = mailhook_env(settings)
    for key in ("MAILHOOK_DATABASE_URL", "MAILHOOK_CONFIG", "MAILHOOK_DATA_DIR"):
        env.pop(key)  # dev must work on its defaults: ./var and ./mailhook.yaml
    env["MAILHOOK_REDIS_URL"] = f"redis://127.0.0.1:{dead_redis}/0"  # nothing there: dev embeds one
    smtp_port = free_port()
    process = subprocess.Popen(
        mailhook_command("dev", "--port", str(port), "--smtp-port", str(smtp_port)),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while not any("Ctrl-C" in line for line in lines) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        output = "".join(lines)
        urls = dict(re.findall(r"^\s+(\w+)\s+\(\w+\): (http://\S+)$", output, re.M))
        assert set(urls) == {"proxiedmail", "improvmx"}, output
        embedded = re.search(r"embedded Redis at redis://127.0.0.1:(\d+)", output)
        assert embedded, output
        redis_port = int(embedded.group(1))
        wait_http(f"http://127.0.0.1:{port}/readyz")
        response = httpx.post(urls["improvmx"], content=fixture_bytes("improvmx/otp.json"))
        assert response.status_code == 200
        assert f"SMTP: 127.0.0.1:{smtp_port}" in output
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            refused = smtp.sendmail("a@example.org", ["qa@localhost"], fixture_bytes("raw/otp.eml"))
        assert refused == {}
        assert (tmp_path / "var" / "mailhook.db").exists() and (tmp_path / "mailhook.yaml").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert not port_open("127.0.0.1", port) and not port_open("127.0.0.1", smtp_port)
    assert not port_open("127.0.0.1", redis_port), "Ctrl-C must stop the embedded Redis too"
