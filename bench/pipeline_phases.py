"""Where one message's worker time goes, in-process and one job at a time (diagnostic for bench/pipeline).

Stores N raw-MIME OTP messages (as bench/pipeline does), builds the worker's ``WorkerDeps`` the
way ``workers.main`` does, and awaits ``workers.jobs.process_message`` for each message in turn,
with no concurrency, so CPU per phase is not blurred by GIL hand-offs. Module-level functions of
the job are re-bound in this process only (Mailhook's code is unchanged) to time each phase with
``time.thread_time`` (CPU of the thread running it) and wall time; SQLAlchemy events count
statements and commits per message.

    .venv/bin/python -m bench.pipeline_phases            # 300 messages (+20 warm-up)
    .venv/bin/python -m bench.pipeline_phases -n 1000
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench import _harness as h
from bench._otp_mail import otp_message
from bench.pipeline_bench import STEPS, FakeSlack, steal_seconds, store_messages, write_config

cpu: dict[str, float] = defaultdict(float)
wall: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)


def _account(label: str, c0: float, w0: float) -> None:
    cpu[label] += time.thread_time() - c0
    wall[label] += time.perf_counter() - w0
    calls[label] += 1


def _wrap(module: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(module, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        c0, w0 = time.thread_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _account(label, c0, w0)

    setattr(module, name, timed)


def _wrap_async(module: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(module, name)

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        c0, w0 = time.thread_time(), time.perf_counter()  # main thread only: nothing else runs
        try:
            return await original(*args, **kwargs)
        finally:
            _account(label, c0, w0)

    setattr(module, name, timed)


def instrument() -> None:
    import workers.hydrate as hydrate
    import workers.jobs as jobs
    import workers.pipeline.engine as engine
    import workers.steps.extract_links as extract_links
    import workers.steps.extract_otp as extract_otp
    import workers.steps.parse as parse
    import workers.steps.slack as slack

    _wrap(jobs, "load_job", "DB: load_job (message, attachments, runs; mark processing)")
    from service.store.blobs import BlobStore

    _wrap(BlobStore, "read", "hydrate: read raw MIME blob")
    _wrap(hydrate, "parse_mime", "hydrate: parse_mime")
    _wrap(hydrate, "save_parsed", "DB write: hydrate save_parsed (UPDATE message, rides with save_run)")
    _wrap(engine, "save_run", "DB write: save_run (run + steps + message)")
    _wrap(engine, "bounded_output", "JSON: bounded_output (dumps + loads per step)")
    _wrap(parse, "stored_attachments", "DB read: parse step stored_attachments")
    _wrap(parse, "_reply_of", "parse step: reply text")
    _wrap(extract_otp, "find_code", "extract_otp: find_code")
    _wrap(extract_links, "find_links", "extract_links: find_links")
    _wrap_async(slack, "post", "slack: httpx POST (guarded client)")
    _wrap(slack, "build_payload", "slack: build_payload")
    _wrap(jobs, "select_pipelines", "routing: select_pipelines")
    _wrap_async(jobs, "hydrate", "hydrate: main-thread part (awaits, Message field updates)")


def count_sql(engine: Any) -> dict[str, int]:
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _stmt(*_: Any) -> None:
        counts["statements"] += 1

    @event.listens_for(engine, "commit")
    def _commit(*_: Any) -> None:
        counts["commits"] += 1

    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pipeline_phases", description=__doc__)
    p.add_argument("-n", "--messages", type=int, default=300)
    p.add_argument("--steps", default=",".join(STEPS))
    args = p.parse_args(argv)
    n, warm = args.messages, 20
    slack = FakeSlack()
    with h.MailhookStack(sources={"raw": "raw"}) as stack:
        try:
            slack.start(None)
            write_config(stack, slack.port, args.steps.split(","))
            ids = store_messages(stack.db_path, stack.root / "var", otp_message(), n + warm, h.new_tag())
            steal0 = steal_seconds()
            result = asyncio.run(_run(stack, ids, warm))
            steal = steal_seconds() - steal0
        finally:
            slack.stop()
    tot_cpu, tot_wall, sql, to_thread = result
    print(f"pipeline phases, {n} messages one at a time in-process, steps [{args.steps}], {len(otp_message()):,} B")
    print(f"total per message: process CPU {1000 * tot_cpu / n:.2f} ms, wall {1000 * tot_wall / n:.2f} ms; "
          f"{sql['statements'] / n:.1f} SQL statements, {sql['commits'] / n:.1f} commits, "
          f"{to_thread / n:.1f} asyncio.to_thread hops per message; "
          f"host steal {100 * steal / tot_wall:.0f}% of a vCPU")  # fmt: skip
    listed = 0.0
    for label in sorted(cpu, key=lambda k: -cpu[k]):
        listed += cpu[label]
        print(f"  {1000 * cpu[label] / n:6.2f} ms CPU  {1000 * wall[label] / n:6.2f} ms wall  "
              f"{calls[label] / n:3.1f}×  {label}")  # fmt: skip
    rest = tot_cpu - listed
    print(f"  {1000 * rest / n:6.2f} ms CPU  (rest: event loop, thread hand-offs, arq-less job glue)")
    print("  (the hydrate main-thread line includes nothing from its worker-thread calls, listed separately)")
    return 0


async def _run(stack: h.MailhookStack, ids: list[str], warm: int) -> tuple[float, float, dict[str, int], int]:
    from service.config import ConfigHolder
    from service.settings import Settings
    from service.store.blobs import BlobStore
    from service.store.db import make_engine
    from workers.deps import WorkerDeps
    from workers.jobs import process_message
    from workers.pipeline.config import CompiledConfigHolder

    instrument()
    settings = Settings(**stack.settings_kwargs())
    engine = make_engine(settings)
    sql = count_sql(engine)
    deps = WorkerDeps(
        settings=settings, engine=engine, blobs=BlobStore(settings.blob_dir), config=ConfigHolder.load(settings.config)
    )
    ctx = {"deps": deps, "compiled": CompiledConfigHolder(deps.config)}
    hops = {"n": 0}
    original = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops["n"] += 1
        return await original(func, *args, **kwargs)

    asyncio.to_thread = counted
    try:
        for message_id in ids[:warm]:
            await process_message(ctx, message_id)
        for d in (cpu, wall, calls, sql, hops):
            for key in d:
                d[key] = 0
        c0, w0 = time.process_time(), time.perf_counter()
        for message_id in ids[warm:]:
            outcome = await process_message(ctx, message_id)
            if outcome != "processed":
                raise RuntimeError(f"message {message_id}: {outcome}")
        return time.process_time() - c0, time.perf_counter() - w0, dict(sql), hops["n"]
    finally:
        asyncio.to_thread = original
        await deps.aclose()


if __name__ == "__main__":
    sys.exit(main())
