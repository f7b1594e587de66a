"""Short, renewed leases on running jobs, so a worker that dies gives its jobs back in seconds.

arq marks a job as taken with an "in progress" key that lives for the job timeout plus 10 s
(310 s by default) and removes it when the job ends. A worker killed mid-job (OOM, SIGKILL, a
lost machine) never removes it, so no other worker may start the job until the key expires: a
one-time code five minutes late. ``LeasedWorker`` gives that key a short life (the lease) and
renews it every third of a lease for each job this process is running; when the process dies,
renewals stop and another worker takes the job within one lease. A job is only ever renewed by
the live process running it, so a slow job is never taken twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

log = logging.getLogger("mailhook.worker")


class LeasedWorker(Worker):
    def __init__(self, *args: Any, lease_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease_s = lease_s
        # arq sets each job's in-progress key with this TTL when it takes the job.
        self.in_progress_timeout_s = lease_s

    async def main(self) -> None:
        renewer = asyncio.create_task(self._renew_leases(), name="mailhook-lease-renewer")
        try:
            await super().main()
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew_leases(self) -> None:
        lease_ms = int(self.lease_s * 1000)
        while True:
            await asyncio.sleep(self.lease_s / 3)
            running = list(self.tasks)
            if not running or self._pool is None:
                continue
            try:
                async with self.pool.pipeline(transaction=False) as pipe:
                    for job_id in running:
                        # PEXPIRE never creates a key: a job that just finished stays finished.
                        pipe.pexpire(in_progress_key_prefix + job_id, lease_ms)
                    await pipe.execute()
            except RedisError as exc:  # Redis away: arq's own polling fails too; try next round
                log.warning("could not renew %d job lease(s): %s", len(running), type(exc).__name__)
