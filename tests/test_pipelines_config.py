"""Routes pick pipelines from the config; unrouted mail is kept; bad config is refused precisely;
SIGHUP swaps in a good file and keeps the old one when the new file is broken."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from service.cli.embedded_redis import free_port
from service.config import ConfigError, ConfigHolder, parse_config
from service.runtime.reload import reload_config
from service.settings import Settings
from service.store.db import make_engine
from service.store.models import Message, PipelineRun
from tests.conftest import IMPROVMX_SECRET, PROXIEDMAIL_SECRET, fixture_bytes
from tests.support.processes import mailhook_env, mailhook_process, wait_http
from tests.support.servers import FakeSlack
from workers.pipeline.config import compile_config

ROUTES = """
pipelines:
  qa:
    - parse
    - extract_otp
    - step: slack
      retries: 2
routes:
  - name: qa-signups
    when: {field: recipient, op: ends_with, value: "@qa.example.com"}
    pipeline: qa
"""


async def test_routes_choose_the_pipeline_and_unmatched_mail_is_unrouted(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url, extra=ROUTES)
    await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
    await client.post(f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=fixture_bytes("proxiedmail/otp.json"))
    await run_worker()
    with Session(make_engine(settings)) as session:
        statuses = {m.envelope_to[0]: m.status for m in session.exec(select(Message))}
        runs = list(session.exec(select(PipelineRun)))
    assert statuses == {"signup@qa.example.com": "processed", "x1y2z3@proxiedmail.com": "unrouted"}
    assert [(r.pipeline, r.route, r.status) for r in runs] == [("qa", "qa-signups", "succeeded")]
    assert len(slack.posts) == 1 and "731904" in slack.posts[0]["text"]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("pipelines:\n  p: [parse, nosuchstep]\n", "pipelines.p.1: unknown step 'nosuchstep'"),
        ("pipelines:\n  p:\n    - step: slack\n      colour: red\n", "pipelines.p.0 (slack): colour: Extra inputs"),
        ("pipelines:\n  p: []\n", "pipelines.p: a pipeline needs at least one step"),
        ("routes:\n  - name: r\n    pipeline: nowhere\n", "routes.0 (r): unknown pipeline 'nowhere'"),
        (
            "routes:\n  - name: r\n    pipeline: default\n    when: {field: subject, op: matches, value: '(x'}\n",
            "invalid regex",
        ),
    ],
)
def test_broken_pipelines_and_routes_are_named_precisely(snippet: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_config(parse_config(snippet))
    assert expected in str(caught.value)


def test_reload_keeps_the_previous_config_when_the_new_one_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "mailhook.yaml"
    path.write_text(ROUTES)
    holder = ConfigHolder.load(path)
    before = holder.current
    path.write_text("pipelines:\n  qa: [nosuchstep]\n")
    assert reload_config(holder, compile_config) is False
    assert holder.current is before
    path.write_text(ROUTES.replace("qa-signups", "renamed"))
    assert reload_config(holder, compile_config) is True
    assert holder.current.routes[0]["name"] == "renamed"


def test_sighup_reloads_sources_in_a_running_server(settings: Settings, write_config: Callable[..., Path]) -> None:
    write_config()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    new_secret = "brand-new-secret-0123456789"
    body = fixture_bytes("improvmx/otp.json")
    with mailhook_process("serve", "--port", str(port), env=mailhook_env(settings)) as server:
        wait_http(base + "/livez")
        assert httpx.post(f"{base}/hooks/improvmx/{new_secret}", content=body).status_code == 401
        text = settings.config.read_text().replace(f"old-{IMPROVMX_SECRET}", new_secret)
        settings.config.write_text(text)
        server.send_signal(signal.SIGHUP)
        _eventually(lambda: httpx.post(f"{base}/hooks/improvmx/{new_secret}", content=body).status_code == 200)
        settings.config.write_text("sources: [oops\n")
        server.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert server.poll() is None
        assert httpx.post(f"{base}/hooks/improvmx/{new_secret}", content=body).status_code == 200


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


TWO_PIPELINES = """
pipelines:
  first:
    - step: slack
      text: "first {{ message.subject }}"
  second:
    - step: slack
      text: "second {{ message.subject }}"
routes:
  - {name: one, pipeline: first, continue: true}
  - {name: two, pipeline: second}
"""


async def test_retrying_a_later_pipeline_does_not_repeat_an_earlier_one(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url, extra=TWO_PIPELINES)
    slack.script = [(200, {}, "ok"), (500, {}, "boom")]  # "first" succeeds, "second" fails once
    await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
    worker = await run_worker()
    assert worker.jobs_retried == 1
    assert slack.attempts == 3, "first posted once, second twice"
    assert [p["text"].split()[0] for p in slack.posts] == ["second"]
    with Session(make_engine(settings)) as session:
        runs = sorted((r.pipeline, r.status) for r in session.exec(select(PipelineRun)))
        [message] = session.exec(select(Message))
    assert runs == [("first", "succeeded"), ("second", "succeeded")] and message.status == "processed"


async def test_replay_runs_everything_again_and_resume_only_the_failed_step(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    from service.handoff.replay import replay_message

    slack, url = fake_slack
    write_config(slack_url=url, extra=TWO_PIPELINES)
    slack.script = [(200, {}, "ok"), (404, {}, "no_service")]  # "second" fails for good
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
    message_id = response.json()["messages"][0]["id"]
    await run_worker()
    assert slack.attempts == 2
    await replay_message(settings, message_id, resume=True, echo=lambda _: None)
    await run_worker()
    assert slack.attempts == 3, "resume: only the failed pipeline's failed step runs again"
    await replay_message(settings, message_id, resume=False, echo=lambda _: None)
    await run_worker()
    assert slack.attempts == 5, "replay: both pipelines run again"
    with Session(make_engine(settings)) as session:
        runs = sorted((r.pipeline, r.status) for r in session.exec(select(PipelineRun)))
        [message] = session.exec(select(Message))
    assert runs == [("first", "succeeded")] * 2 + [("second", "succeeded")] * 2
    assert message.status == "processed"
