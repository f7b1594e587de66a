"""Running ``mailhook`` commands as real subprocesses, configured through MAILHOOK_* variables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from service.settings import Settings


def mailhook_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILHOOK_")}
    env.update(
        MAILHOOK_DATABASE_URL=settings.database_url,
        MAILHOOK_REDIS_URL=settings.redis_url,
        MAILHOOK_CONFIG=str(settings.config),
        MAILHOOK_DATA_DIR=str(settings.data_dir),
        MAILHOOK_JOB_MAX_TRIES=str(settings.job_max_tries),
        **extra,
    )
    return env


def mailhook_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "service", *args]


@contextmanager
def mailhook_process(*args: str, env: dict[str, str], cwd: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """Start ``mailhook ARGS``; on exit interrupt it like Ctrl-C and wait for a clean stop."""
    process = subprocess.Popen(
        mailhook_command(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")
