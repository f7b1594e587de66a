"""The worker: pipeline to Slack, retries (429 Retry-After, 5xx), dead-letter, replay, sweeper."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

from service.handoff.replay import replay_message
from service.settings import Settings
from service.store.db import make_engine
from service.store.models import Message, PipelineRun, StepRun
from tests.conftest import IMPROVMX_SECRET, PROXIEDMAIL_SECRET, fixture_bytes
from tests.support.servers import FakeSlack, serve_in_thread


def _message(settings: Settings, message_id: str) -> Message:
    with Session(make_engine(settings)) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


async def _deliver(client: httpx.AsyncClient, fixture: str = "proxiedmail/otp.json") -> str:
    source, secret = ("proxiedmail", PROXIEDMAIL_SECRET) if "proxiedmail" in fixture else ("improvmx", IMPROVMX_SECRET)
    response = await client.post(f"/hooks/{source}/{secret}", content=fixture_bytes(fixture))
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


async def test_message_reaches_slack_with_code(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    message_id = await _deliver(client)
    worker = await run_worker()
    assert worker.jobs_complete == 1
    [post] = slack.posts
    assert "048213" in post["text"] and "accounts@example.org" in post["text"]
    assert "x1y2z3@proxiedmail.com" in post["text"] and "Your Acme sign-in code" in post["text"]
    assert _message(settings, message_id).status == "processed"


async def test_slack_429_honours_retry_after_then_succeeds_once(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    slack.script = [(429, {"Retry-After": "1"}, "rate_limited")]
    message_id = await _deliver(client, "improvmx/otp.json")
    started = time.monotonic()
    worker = await run_worker()
    assert time.monotonic() - started >= 1.0, "the retry must wait for Retry-After"
    assert worker.jobs_retried == 1
    assert slack.attempts == 2 and len(slack.posts) == 1
    assert "731904" in slack.posts[0]["text"]
    assert _message(settings, message_id).status == "processed"


async def test_slack_5xx_retries_and_earlier_steps_are_not_repeated(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    slack.script = [(500, {}, "boom")]
    message_id = await _deliver(client)
    await run_worker()
    assert len(slack.posts) == 1
    with Session(make_engine(settings)) as session:
        steps = {s.name: s for s in session.exec(select(StepRun))}
    assert steps["parse"].attempts == 1 and steps["extract_otp"].attempts == 1
    assert steps["slack"].attempts == 2 and steps["slack"].status == "succeeded"
    assert _message(settings, message_id).status == "processed"


async def test_spent_retry_budget_marks_failed_and_replay_runs_again(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    slack.script = [(503, {"Retry-After": "0"}, "down")] * settings.job_max_tries
    message_id = await _deliver(client)
    await run_worker()
    failed = _message(settings, message_id)
    assert failed.status == "failed"
    assert failed.error and "slack" in failed.error and "503" in failed.error
    assert slack.posts == []

    lines: list[str] = []
    assert await replay_message(settings, message_id, resume=True, echo=lines.append) == 0
    await run_worker()
    assert _message(settings, message_id).status == "processed"
    assert len(slack.posts) == 1


async def test_slack_4xx_is_final_without_retries(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    slack.script = [(404, {}, "no_service")]
    message_id = await _deliver(client)
    await run_worker()
    assert slack.attempts == 1
    message = _message(settings, message_id)
    assert message.status == "failed" and "no_service" in (message.error or "")


async def test_slack_on_loopback_is_refused_unless_allowed(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url, allow_hosts=())
    message_id = await _deliver(client)
    await run_worker()
    assert slack.attempts == 0
    message = _message(settings, message_id)
    assert message.status == "failed" and "refused" in (message.error or "")


async def test_message_without_slack_config_is_processed(
    settings: Settings, client: httpx.AsyncClient, run_worker: Callable[..., Any]
) -> None:
    message_id = await _deliver(client)
    await run_worker()
    assert _message(settings, message_id).status == "processed"


async def test_runs_failed_lists_dead_lettered_runs_with_their_step_error(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    import subprocess

    from tests.support.processes import mailhook_command, mailhook_env

    slack, url = fake_slack
    write_config(slack_url=url)
    slack.script = [(403, {}, "invalid_token")]
    message_id = await _deliver(client)
    await run_worker()
    listing = subprocess.run(
        mailhook_command("runs", "--failed"), env=mailhook_env(settings), capture_output=True, text=True, timeout=60
    ).stdout
    assert f"failed    message={message_id} pipeline=default" in listing
    assert "2. slack        failed    attempts=1" in listing and "invalid_token" in listing
    assert "0. parse        succeeded" in listing


async def test_a_retried_replay_resumes_its_own_run_and_repeats_no_side_effect(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    """``mailhook replay`` (without --resume) starts new runs; when the replay job is retried
    (here: the forward answers 503 once), the retry continues the replay's run, so the Slack
    post the replay already made is not made again."""
    from tests.support.webhook_receiver import HOOK_PATH, SECRET, WebhookReceiver

    slack, url = fake_slack
    hook = WebhookReceiver()
    with serve_in_thread(hook.app()) as base:
        pipeline = f"""
        pipelines:
          default:
            - step: slack
              webhook_url: {url}
            - step: forward_http
              url: {base}{HOOK_PATH}
              secret: {SECRET}
        """
        write_config(extra=pipeline)
        message_id = await _deliver(client)
        await run_worker()
        assert len(slack.posts) == 1 and len(hook.accepted) == 1

        hook.script = [(503, {"Retry-After": "0"}, "busy")]
        lines: list[str] = []
        assert await replay_message(settings, message_id, resume=False, echo=lines.append) == 0
        await run_worker()
    assert _message(settings, message_id).status == "processed"
    assert len(slack.posts) == 2, "the replay posts once, and its retry must not post again"
    assert len(hook.accepted) == 2
    with Session(make_engine(settings)) as session:
        runs = session.exec(select(PipelineRun).order_by(col(PipelineRun.id))).all()
    assert [run.status for run in runs] == ["succeeded", "succeeded"]


async def test_a_locked_database_retries_the_job_instead_of_failing_it(
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    """The job cannot mark the message while another process holds the write lock: it is
    retried with backoff (not recorded as failed by arq) and completes once the lock is gone."""
    slack, url = fake_slack
    write_config(slack_url=url)
    message_id = await _deliver(client)
    db_path = settings.database_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        locker.execute("ROLLBACK")
        locker.close()

    release = threading.Timer(1.0, unlock)
    release.start()
    try:
        worker = await run_worker(database_busy_timeout_ms=200)
    finally:
        release.join()
    assert worker.jobs_retried >= 1 and worker.jobs_failed == 0
    assert _message(settings, message_id).status == "processed"
    assert len(slack.posts) == 1


def test_the_cron_jobs_run_in_a_long_lived_worker_but_not_in_a_burst(settings: Settings) -> None:
    from workers.main import WorkerSettings

    sweep, bounce_logs = WorkerSettings(settings).cron_jobs
    assert sweep.name.endswith("sweep_pending") and sweep.second == {0, 30}
    assert bounce_logs.name.endswith("pull_bounce_logs") and bounce_logs.unique
    assert WorkerSettings(settings, burst=True).cron_jobs == []
