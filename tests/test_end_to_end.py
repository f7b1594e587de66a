"""The whole spine with real processes: `mailhook serve` + `mailhook worker` → fake Slack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.cli.embedded_redis import free_port
from service.settings import Settings
from tests.conftest import IMPROVMX_SECRET, PROXIEDMAIL_SECRET, fixture_bytes
from tests.support.processes import mailhook_env, mailhook_process, wait_http
from tests.support.servers import FakeSlack

pytestmark = pytest.mark.slow


def test_proxiedmail_and_improvmx_deliveries_reach_slack_with_their_codes(
    settings: Settings, write_config: Callable[..., Path], fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    env = mailhook_env(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        mailhook_process("serve", "--port", str(port), env=env),
        mailhook_process("worker", env=env) as worker,
    ):
        wait_http(base + "/livez")
        pm = httpx.post(f"{base}/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=fixture_bytes("proxiedmail/otp.json"))
        imx = httpx.post(f"{base}/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
        assert pm.status_code == imx.status_code == 200
        posts = slack.wait_for(2, timeout=20)
        assert worker.poll() is None, "the worker must still be running"
    texts = sorted(post["text"] for post in posts)
    assert len(texts) == 2
    assert any("048213" in t and "x1y2z3@proxiedmail.com" in t and "accounts@example.org" in t for t in texts)
    assert any("731904" in t and "signup@qa.example.com" in t and "no-reply@example.net" in t for t in texts)


def test_server_logs_never_contain_the_hook_secret(settings: Settings, write_config: Callable[..., Path]) -> None:
    write_config()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with mailhook_process("serve", "--port", str(port), env=mailhook_env(settings)) as server:
        wait_http(base + "/livez")
        httpx.post(f"{base}/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
        httpx.post(f"{base}/hooks/improvmx/wrong-guess-0123456789", content=b"{}")
    assert server.stdout is not None
    output = server.stdout.read()
    assert "POST /hooks/improvmx/*** HTTP/1.1" in output, output
    assert IMPROVMX_SECRET not in output and "wrong-guess" not in output
