"""store_batch in-process (no HTTP, no event loop): where a group commit's time goes, by batch size
and SQLite setting. A diagnostic for the ingest benchmark's profile, not a target of its own.

    .venv/bin/python -m bench.store_micro                 # all variants, batch sizes 1 8 16 32
    .venv/bin/python -m bench.store_micro --batches 32 --messages 3200 --variants baseline

Variants change only what the variant names (extra PRAGMAs run after Mailhook's own, or the kept
raw payload); the code under test is ``service.store.messages.store_batch`` on ``service.store.db.make_engine``.
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import event

from bench import _harness as h
from bench.ingest_bench import MARKER, improvmx_body

_COMMIT_TIMES: list[float] = []
_COMMIT_CPU: list[float] = []


class _TimedCommit:
    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc: object) -> None:
        _COMMIT_TIMES.append(time.perf_counter() - self.wall)
        _COMMIT_CPU.append(time.thread_time() - self.cpu)


class _TimingCursor(sqlite3.Cursor):
    """Times ``COMMIT`` sent as SQL (Mailhook's SQLite fast path) in wall and thread-CPU time."""

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            with _TimedCommit():
                return super().execute(sql, *args)
        return super().execute(sql, *args)


class _TimingConnection(sqlite3.Connection):
    """Times ``Connection.commit()`` (SQLAlchemy's path) and hands out timing cursors."""

    def cursor(self, factory: Any = _TimingCursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        with _TimedCommit():
            super().commit()


VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {"pragmas": []},
    "no-autocheckpoint": {"pragmas": ["PRAGMA wal_autocheckpoint=0"]},
    "synchronous-normal": {"pragmas": ["PRAGMA synchronous=NORMAL"]},
    "no-raw-payload": {"pragmas": [], "raw": "empty"},
}


def _emails(count: int, body_kb: float, raw: str | None) -> list[Any]:
    from service.config import parse_config
    from service.providers import INBOUND_PROVIDERS, Delivery

    template = improvmx_body(int(body_kb * 1024), unique_attachments=False).decode()
    source = parse_config("sources: [{name: improvmx, provider: improvmx, secrets: [bench-0123456789abcdef]}]").sources[
        0
    ]
    provider = INBOUND_PROVIDERS["improvmx"]()
    out = []
    for i in range(count):
        body = template.replace(MARKER, f"{time.time_ns():x}{i:08x}").encode()
        [email] = provider.parse(Delivery(source=source, body=body, headers={}, query={}))
        if raw == "empty":
            email = replace(email, raw_payload=b"")
        out.append(email)
    return out


def run_variant(name: str, batch: int, messages: int, body_kb: float) -> dict[str, Any]:
    from service.settings import Settings
    from service.store.blobs import BlobStore
    from service.store.db import make_engine
    from service.store.messages import store_batch

    spec = VARIANTS[name]
    with h.MailhookStack() as stack:
        engine = make_engine(Settings(**stack.settings_kwargs()))
        event.listen(engine, "do_connect", lambda _d, _r, _a, cparams: cparams.update(factory=_TimingConnection))
        pragmas: list[str] = spec["pragmas"]
        if pragmas:

            @event.listens_for(engine, "connect")
            def _extra(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                for pragma in pragmas:
                    cursor.execute(pragma)
                cursor.close()

        blobs = BlobStore(stack.root / "var" / "blobs")
        emails = _emails(messages, body_kb, spec.get("raw"))
        store_batch(engine, blobs, emails[:batch])  # warm: connection, compiled cache
        _COMMIT_TIMES.clear()
        _COMMIT_CPU.clear()
        times: list[float] = []
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(batch, messages, batch):
            t = time.perf_counter()
            store_batch(engine, blobs, emails[i : i + batch])
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        stored = messages - batch
        engine.dispose()
        wal = stack.root / "mailhook.db-wal"
        return {
            "variant": name,
            "batch": batch,
            "msgs_per_s": round(stored / elapsed),
            "batch_ms_p50": round(statistics.median(times) * 1000, 2),
            "batch_ms_p99": round(sorted(times)[int(len(times) * 0.99)] * 1000, 2),
            "cpu_us_per_msg": round(1e6 * cpu / stored),
            "commit_share": round(sum(_COMMIT_TIMES) / sum(times), 2),
            "commit_ms_p50": round(statistics.median(_COMMIT_TIMES) * 1000, 2),
            "commit_cpu_us_per_msg": round(1e6 * sum(_COMMIT_CPU) / stored),
            "commit_ms_max": round(max(_COMMIT_TIMES) * 1000, 1),
            "db_kb_per_msg": round(
                (stack.db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1024 / stored, 1
            ),
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--body-kb", type=float, default=10.0)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = p.parse_args(argv)
    cols = [
        "variant",
        "batch",
        "msgs_per_s",
        "batch_ms_p50",
        "batch_ms_p99",
        "cpu_us_per_msg",
        "commit_share",
        "commit_ms_p50",
        "commit_ms_max",
        "commit_cpu_us_per_msg",
        "db_kb_per_msg",
    ]
    print("  ".join(f"{c:>18}" if i == 0 else f"{c:>11}" for i, c in enumerate(cols)))
    show: Callable[[dict[str, Any]], str] = lambda r: "  ".join(  # noqa: E731
        f"{r[c]!s:>18}" if i == 0 else f"{r[c]!s:>11}" for i, c in enumerate(cols)
    )
    for name in args.variants:
        for batch in args.batches:
            print(show(run_variant(name, batch, args.messages, args.body_kb)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
