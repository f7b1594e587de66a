"""The arq baseline for bench/pipeline: a worker whose ``process_message`` does nothing.

It takes every queue-facing setting from ``workers.main.WorkerSettings`` (the same function
``mailhook worker`` builds its ``Worker`` from): Redis, queue name, ``max_jobs``
(``MAILHOOK_WORKER_MAX_JOBS``), ``poll_delay``, ``keep_result``, burst mode and the per-function
``max_tries``. It leaves out what would need Mailhook's database and config (start-up hook,
shutdown hook, the ``sweep_pending`` cron job): none of them runs per job. Jobs are the very
payloads ``JobQueue.enqueue_many`` writes, so arq reads, runs and records them exactly as it does
for the real worker.

    MAILHOOK_REDIS_URL=… MAILHOOK_QUEUE_NAME=… python -m bench._noop_worker   # burst: drain, exit

With ``MAILHOOK_BENCH_FLOOR_SLACK_URL`` (and ``MAILHOOK_BENCH_FLOOR_BYTES``) set, each job does the
pipeline floor instead (``bench/pipeline --floor``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from arq import func
from arq.worker import Worker

from service.runtime.logs import configure_logging
from service.settings import Settings
from workers.main import ARQ_MAX_TRIES, WorkerSettings

#: What is copied from the real worker's settings; everything that decides arq's per-job cost.
SHARED = ("redis_settings", "queue_name", "max_jobs", "poll_delay", "keep_result", "burst", "handle_signals")


async def noop(ctx: dict[str, Any], message_id: str, after_run: int | None = None) -> str:
    return "noop"


def _floor_job(slack_url: str, body_bytes: int) -> Any:
    """The pipeline floor: only the work no implementation of the benchmarked pipeline can skip,
    with Mailhook's own code for it. Decode the 20 KB mail (stdlib parser, as the ``parse`` step
    and hydrate do) and POST a message to Slack through the guarded client, no database, no
    extraction, no run records. Its rate against the no-op is the best ratio reachable here."""
    from bench._otp_mail import otp_message
    from service.mime.body import parse_mime
    from service.outbound import OutboundPolicy, guarded_client

    mail = otp_message(body_bytes)
    client = guarded_client(OutboundPolicy(allow_hosts=frozenset({"127.0.0.1"})), timeout=15.0)

    async def floor(ctx: dict[str, Any], message_id: str, after_run: int | None = None) -> str:
        parsed = parse_mime(mail)
        response = await client.post(slack_url, json={"text": f"{parsed.get('subject')} {message_id}"})
        response.raise_for_status()
        return "noop"

    return floor


def noop_settings(settings: Settings, *, burst: bool = True) -> dict[str, Any]:
    real = WorkerSettings(settings, burst=burst).as_kwargs()
    options = {key: real[key] for key in SHARED}
    floor_url = os.environ.get("MAILHOOK_BENCH_FLOOR_SLACK_URL")
    job = _floor_job(floor_url, int(os.environ["MAILHOOK_BENCH_FLOOR_BYTES"])) if floor_url else noop
    options["functions"] = [func(job, name="process_message", max_tries=ARQ_MAX_TRIES)]
    return options


def main() -> int:
    settings = Settings()
    configure_logging(settings.log_level)  # as `mailhook worker` does
    worker = Worker(**noop_settings(settings, burst=True))
    worker.run()
    return 0 if worker.jobs_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
