"""`mailhook dev` beside the other commands: they find its Redis, a SIGHUP reaches every part of
it, and a command that cannot reach a service says so in one line instead of a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.cli.embedded_redis import free_port
from service.settings import Settings
from service.store.db import make_engine
from tests.conftest import IMPROVMX_SECRET, fixture_bytes
from tests.support.processes import mailhook_command, mailhook_env, wait_http

pytestmark = pytest.mark.slow


@contextmanager
def _dev(tmp_path: Path, env: dict[str, str], port: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        mailhook_command("dev", "--port", str(port), "--smtp-port", str(free_port())),
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
        wait_http(f"http://127.0.0.1:{port}/readyz")
        yield process, "".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def _dev_env(settings: Settings) -> dict[str, str]:
    env = mailhook_env(settings)
    for key in ("MAILHOOK_DATABASE_URL", "MAILHOOK_CONFIG", "MAILHOOK_DATA_DIR"):
        env.pop(key)  # dev's defaults: ./var and ./mailhook.yaml
    env["MAILHOOK_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing there: dev embeds one
    return env


def _mailhook(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mailhook_command(*args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def test_commands_run_beside_dev_use_its_embedded_redis(tmp_path: Path, settings: Settings) -> None:
    env, port = _dev_env(settings), free_port()
    with _dev(tmp_path, env, port) as (_, output):
        embedded = re.search(r"embedded Redis at (redis://\S+)", output)
        assert embedded, output
        hook = re.search(r"improvmx\s+\(improvmx\): (http://\S+)", output)
        assert hook, output
        url = hook.group(1)
        stored = httpx.post(url, content=fixture_bytes("improvmx/otp.json")).json()["messages"][0]["id"]
        check = _mailhook(tmp_path, env, "check")
        assert "redis: ok" in check.stdout, check.stdout + check.stderr
        assert check.stderr == "", "check's output is its answer: no start-up noise on stderr"
        replay = _mailhook(tmp_path, env, "replay", stored)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert f"queued {stored} for replay" in replay.stdout
    assert not (tmp_path / "var" / "dev-redis.json").exists(), "dev removes its Redis record when it stops"


def test_sighup_in_dev_reaches_the_web_side(tmp_path: Path, settings: Settings) -> None:
    env, port = _dev_env(settings), free_port()
    with _dev(tmp_path, env, port) as (process, _):
        config = tmp_path / "mailhook.yaml"
        hook = f"http://127.0.0.1:{port}/hooks/added/{IMPROVMX_SECRET}"
        assert httpx.post(hook, content=fixture_bytes("improvmx/otp.json")).status_code == 401
        added = f"  - name: added\n    provider: improvmx\n    secrets: [{IMPROVMX_SECRET}]\n"
        config.write_text(config.read_text().replace("sources:\n", "sources:\n" + added, 1))
        os.kill(process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        status = 401
        while status == 401 and time.monotonic() < deadline:
            time.sleep(0.1)
            status = httpx.post(hook, content=fixture_bytes("improvmx/otp.json")).status_code
        assert status == 200, "the web side must see the source added before SIGHUP"


@pytest.mark.parametrize("command", [["replay", "01J0000000000000000000000Z"], ["messages"], ["runs"]])
def test_an_unreachable_service_is_one_line_and_a_non_zero_exit(
    settings: Settings, write_config: Callable[..., Path], tmp_path: Path, command: list[str]
) -> None:
    write_config()
    dead_redis = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    env = {**mailhook_env(settings), "MAILHOOK_REDIS_URL": dead_redis}
    if command[0] != "replay":  # a database that cannot be opened (its directory does not exist)
        env["MAILHOOK_DATABASE_URL"] = f"sqlite:///{tmp_path}/missing/dir/mailhook.db"
    else:
        _store_one(settings, command)
    result = subprocess.run(mailhook_command(*command), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    if command[0] == "replay":
        assert line.startswith(f"cannot reach Redis at redis://:***@127.0.0.1:{dead_redis.rsplit(':', 1)[1][:-2]}")
        assert "MAILHOOK_REDIS_URL" in line and "hunter2" not in line
    else:
        assert line.startswith("cannot reach the database at sqlite:///") and "MAILHOOK_DATABASE_URL" in line


def _store_one(settings: Settings, command: list[str]) -> None:
    """Put a message in the test database so replay gets as far as Redis."""
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO message (id, source, provider, idempotency_key, received_at, envelope_to, "to", cc,'
            " reply_to, headers, auth, defects, status, attempts, updated_at) VALUES (?, 's', 'raw', 'k',"
            " '2026-01-01 00:00:00', '[]', '[]', '[]', '[]', '[]', '{}', '[]', 'failed', 0, '2026-01-01 00:00:00')",
            (command[1],),
        )
    engine.dispose()
