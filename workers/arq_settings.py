"""For running the worker with arq's own CLI: ``arq workers.arq_settings.WorkerSettings``.

This module reads the ``MAILHOOK_*`` environment when imported, which is what arq's CLI needs;
nothing else in Mailhook imports it. Prefer ``mailhook worker``.
"""

from __future__ import annotations

from service.settings import Settings
from workers.main import worker_settings

_built = worker_settings(Settings())


class WorkerSettings:
    functions = _built["functions"]
    cron_jobs = _built["cron_jobs"]
    on_startup = _built["on_startup"]
    on_shutdown = _built["on_shutdown"]
    redis_settings = _built["redis_settings"]
    queue_name = _built["queue_name"]
    max_jobs = _built["max_jobs"]
    poll_delay = _built["poll_delay"]
    keep_result = _built["keep_result"]
