"""For running the worker with arq's own CLI: ``arq workers.arq_settings.WorkerSettings``.

arq imports the name ``WorkerSettings`` from here; it is built from the ``MAILHOOK_*`` environment
on that first access (PEP 562), not when the module is imported. Prefer ``mailhook worker``.
"""

from __future__ import annotations

from service.settings import Settings
from workers.main import WorkerSettings as _WorkerSettings


def __getattr__(name: str) -> _WorkerSettings:
    if name == "WorkerSettings":
        return _WorkerSettings(Settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
