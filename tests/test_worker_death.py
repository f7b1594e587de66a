"""A worker killed mid-job: its job runs again on another worker within seconds (job leases),
and a side effect committed before the kill is not repeated."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from service.settings import Settings
from service.store.db import make_engine
from service.store.messages import get_message
from tests.conftest import IMPROVMX_SECRET, fixture_bytes
from tests.support.processes import mailhook_env, mailhook_process

pytestmark = pytest.mark.slow

LEASE_S = 2.0


def test_a_killed_workers_job_runs_again_within_a_lease(
    settings: Settings, write_config: Callable[..., Path], live_app: str, tmp_path: Path
) -> None:
    calls, marker = tmp_path / "calls.log", tmp_path / "started"
    write_config(
        extra=f"""
        pipelines:
          default:
            - {{step: python, callable: "tests.support.user_steps:note_call", args: {{log: "{calls}"}}}}
            - {{step: python, callable: "tests.support.user_steps:hang_the_first_time", args: {{marker: "{marker}"}}}}
        """
    )
    delivered = httpx.post(f"{live_app}/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"))
    message_id = delivered.json()["messages"][0]["id"]
    env = {**mailhook_env(settings), "MAILHOOK_JOB_LEASE_S": str(LEASE_S)}
    with mailhook_process("worker", env=env) as first:
        _wait_for(marker.exists, timeout=30, what="the first worker to start the hanging step")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
    with mailhook_process("worker", env=env):
        _wait_for(lambda: _status(settings, message_id) == "processed", timeout=30, what="the job to run again")
        taken_over_after = time.monotonic() - killed_at
    assert taken_over_after < LEASE_S + 10, f"took {taken_over_after:.1f} s (arq alone waits 310 s)"
    assert calls.read_text().splitlines() == [message_id], "the committed side effect ran once"


def _status(settings: Settings, message_id: str) -> str | None:
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            message = get_message(session, message_id)
            return message.status if message else None
    finally:
        engine.dispose()


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
