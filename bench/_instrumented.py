"""``create_app`` with diagnostics, for ``bench/ingest --instrument`` only (never used in production).

Wraps ``service.ingest.writer.store_batch`` to record group-commit batch sizes and durations, runs an
event-loop lag probe, and adds two routes: ``POST /_bench/reset`` and ``GET /_bench/stats``.
Mailhook's code is unchanged; only the name the writer calls is re-bound in this process.

``MAILHOOK_BENCH_SWITCH_INTERVAL`` (seconds) sets ``sys.setswitchinterval`` to test GIL hand-off.
``MAILHOOK_BENCH_STORE`` takes storage out to see what it costs (nothing is stored then):
``writer-only`` keeps the group-commit writer and its thread hop but ``store_batch`` returns at
once; ``none`` answers from ``Ingestor.store`` directly (no writer, no thread, no Redis).
``MAILHOOK_BENCH_GC_FREEZE=1`` calls ``gc.freeze()`` at ``/_bench/reset`` (after start-up and
warm-up), so full collections stop re-scanning the start-up heap. Collector pauses are recorded
either way (``gc_pause_ms`` per generation).
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import service.ingest.writer as writer_module
from service.ingest.ingestor import Ingestor
from service.store.ids import new_id
from service.store.messages import StoreResult, store_batch
from service.web.app import create_app as _create_app

_STATS: dict[str, list[float]] = {"batch": [], "store_ms": [], "lag_ms": [], "gc0": [], "gc1": [], "gc2": []}
_gc_started = [0.0]
_GEN2: list[tuple[float, str, int]] = []


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        pause = (time.perf_counter() - _gc_started[0]) * 1000
        _STATS[f"gc{info['generation']}"].append(pause)
        if info["generation"] == 2:
            _GEN2.append((round(pause, 2), threading.current_thread().name, info.get("collected", 0)))


_store_batch = store_batch  # what the writer calls, until create_app patches it
_probe: asyncio.Task[None] | None = None


def _no_store_batch(engine: Any, blobs: Any, emails: Any) -> list[StoreResult]:
    return [StoreResult(new_id(), False) for _ in emails]


async def _no_store(self: Ingestor, emails: Any) -> list[StoreResult]:
    return [StoreResult(new_id(), False) for _ in emails]


def _timed_store_batch(engine: Any, blobs: Any, emails: Any) -> Any:
    start = time.perf_counter()
    try:
        return _store_batch(engine, blobs, emails)
    finally:
        _STATS["store_ms"].append((time.perf_counter() - start) * 1000)
        _STATS["batch"].append(len(emails))


async def _lag_probe(interval: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        _STATS["lag_ms"].append((loop.time() - start - interval) * 1000)


def _dist(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "mean": round(statistics.fmean(ordered), 2),
        "p50": round(ordered[len(ordered) // 2], 2),
        "p90": round(ordered[int(len(ordered) * 0.9)], 2),
        "p99": round(ordered[int(len(ordered) * 0.99)], 2),
        "max": round(ordered[-1], 2),
    }


async def reset(request: Request) -> Response:
    global _probe
    if _probe is None:  # first reset: after start-up and warm-up
        if os.environ.get("MAILHOOK_BENCH_GC_FREEZE") == "1":
            gc.collect()
            gc.freeze()
        gc.callbacks.append(_on_gc)
        _probe = asyncio.create_task(_lag_probe())
    for values in _STATS.values():
        values.clear()
    _GEN2.clear()
    _STATS["t0"] = [time.monotonic()]
    return JSONResponse({"status": "reset"})


async def stats(request: Request) -> Response:
    elapsed = time.monotonic() - _STATS.get("t0", [time.monotonic()])[0]
    return JSONResponse(
        {
            "elapsed_s": round(elapsed, 2),
            "commits_per_s": round(len(_STATS["batch"]) / elapsed, 1) if elapsed else None,
            "batch_size": _dist(_STATS["batch"]),
            "store_batch_ms": _dist(_STATS["store_ms"]),
            "loop_lag_ms": _dist(_STATS["lag_ms"]),
            "gc_pause_ms": {f"gen{g}": _dist(_STATS[f"gc{g}"]) for g in range(3)},
            "gc_objects_tracked": len(gc.get_objects()),
            "gc_frozen": gc.get_freeze_count(),
            "gc_gen2": _GEN2[-20:],
            "switch_interval_s": sys.getswitchinterval(),
        }
    )


def create_app() -> Starlette:
    interval = os.environ.get("MAILHOOK_BENCH_SWITCH_INTERVAL")
    if interval:
        sys.setswitchinterval(float(interval))
    global _store_batch
    mode = os.environ.get("MAILHOOK_BENCH_STORE", "")
    if mode == "writer-only":
        _store_batch = _no_store_batch
    elif mode == "none":
        # The bench swaps the store step out of the class for the whole process, on purpose.
        Ingestor.store = _no_store  # type: ignore[method-assign]
    elif mode:
        raise ValueError(f"MAILHOOK_BENCH_STORE={mode!r}: use writer-only or none")
    # The writer's own global (imported from service.store.messages), which mypy sees as private.
    writer_module.store_batch = _timed_store_batch  # type: ignore[attr-defined]
    app = _create_app()
    app.router.routes[:0] = [
        Route("/_bench/reset", reset, methods=["POST"]),
        Route("/_bench/stats", stats, methods=["GET"]),
    ]
    return app
