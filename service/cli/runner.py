"""Starting the web server and the worker from ``Settings`` (used by the CLI and ``dev``)."""

from __future__ import annotations

import asyncio

import uvicorn
from arq.worker import Worker

from service.cli.web import create_web_app
from service.runtime.logs import uvicorn_log_config
from service.settings import Settings
from service.smtp.server import serve_smtp
from workers.lease import LeasedWorker
from workers.main import WorkerSettings


def uvicorn_config(settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_web_app(settings),
        host=host,
        port=port,
        log_config=uvicorn_log_config(),
        proxy_headers=False,  # X-Forwarded-For is honoured only from configured trusted proxies
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def serve_web(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        # Several processes need an import string; each builds its Settings from the same env.
        uvicorn.run(
            "service.cli.web:create_web_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=uvicorn_log_config(),
            proxy_headers=False,
            server_header=False,
        )
        return
    uvicorn.Server(uvicorn_config(settings, host=host, port=port)).run()


def build_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    options = WorkerSettings(settings, burst=burst).as_kwargs()
    options["handle_signals"] = handle_signals and not burst
    return LeasedWorker(**options, lease_s=settings.job_lease_s)


def run_worker(settings: Settings, *, burst: bool = False) -> int:
    worker = build_worker(settings, burst=burst)
    worker.run()
    return 0 if worker.jobs_failed == 0 or not burst else 1


async def serve_all(settings: Settings, *, host: str, port: int, smtp_port: int | None = None) -> None:
    """One event loop running uvicorn, the worker and (optionally) SMTP; when uvicorn stops
    (Ctrl-C), so do the others."""
    server = uvicorn.Server(uvicorn_config(settings, host=host, port=port))
    worker = build_worker(settings, handle_signals=False)
    tasks = [asyncio.create_task(worker.async_run())]
    if smtp_port is not None:
        tasks.append(asyncio.create_task(serve_smtp(settings, host, smtp_port)))
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await worker.close()
