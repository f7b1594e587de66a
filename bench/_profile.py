"""Summarise py-spy ``--format raw`` output (collapsed stacks) of a Mailhook process into cost buckets.

Each stack is put in the first bucket whose patterns all occur in it (order matters: specific
before general), so the percentages add up to 100. Run it on a saved file:

    python -m bench._profile bench/results/ingest-profile-cpu.txt [--wall  (file recorded with --idle)]
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# (label, [alternatives, each a tuple of substrings that must all appear in the stack])
BUCKETS: list[tuple[str, list[tuple[str, ...]]]] = [
    ("idle: event loop waiting for I/O", [("<idle-loop>",)]),
    ("event loop in C: uvloop/libuv, socket reads/writes, httptools parsing", [("<loop-c>",)]),
    ("idle: thread-pool thread waiting for work", [("<idle-pool>",)]),
    (
        "commit thread: SQLite COMMIT (WAL write, checkpoint, fsync)",
        [("<sql-commit>",), ("_commit_impl",), ("do_commit",)],
    ),
    (
        "commit thread: SQLAlchemy compile / cache key",
        [("store_batch", "sql/compiler.py"), ("store_batch", "cache_key.py"), ("store_batch", "_compile_w_cache")],
    ),
    (
        "commit thread: JSON-column serialisation (json.dumps)",
        [("store_batch", "json/encoder.py"), ("store_batch", "dumps (json")],
    ),
    (
        "commit thread: sqlite3 execute (INSERTs, key lookup)",
        [("store_batch", "<sql-exec>"), ("store_batch", "do_execute"), ("store_batch", "do_executemany")],
    ),
    ("commit thread: SQLAlchemy other (bind/result processing, begin, pool)", [("store_batch", "sqlalchemy/")]),
    ("commit thread: blob store (sha256, exists, write+fsync)", [("store_batch", "service/store/blobs.py")]),
    ("commit thread: store_batch own code (row dicts, ids)", [("store_batch",)]),
    ("thread-pool hand-off (to_thread, futures)", [("concurrent/futures",), ("threading.py",)]),
    ("pydantic", [("pydantic",)]),
    ("request: json.loads of the body", [("load_json_object",)]),
    (
        "request: ImprovMX parse / normalise (rest)",
        [("service/providers/",), ("service/mail/inbound.py",), ("service/mail/storable.py",)],
    ),
    ("Redis: batched enqueue (Lua, redis-py, arq serialize)", [("service/handoff/queue.py",), ("redis/",), ("arq/",)]),
    (
        "group-commit writer / ingest (asyncio futures, queue)",
        [("service/ingest/writer.py",), ("service/ingest/ingestor.py",)],
    ),
    ("request: auth, read_body, handler glue", [("service/",)]),
    ("response: JSONResponse render", [("responses.py",)]),
    ("Starlette routing / request objects", [("starlette/",)]),
    ("uvicorn HTTP protocol (httptools callbacks, ASGI cycle)", [("uvicorn/",)]),
    ("asyncio / uvloop machinery", [("asyncio/",), ("uvloop",)]),
    ("other", [()]),
]

_LOOP_LEAVES = (
    "Runner.run (asyncio/runners.py",
    "run (uvloop",
    "run_forever",
    "_run_once",
    "select (selectors.py",
    "run_until_complete",
)


def _is_idle_loop(frames: list[str]) -> bool:
    """The main thread's leaf is the loop itself: uvloop's C loop (epoll) or asyncio's select."""
    leaf = frames[-1]
    return any(leaf.startswith(p) for p in _LOOP_LEAVES) or leaf.startswith("Server.serve") or leaf.startswith("run (")


def _is_idle_pool(frames: list[str]) -> bool:
    text = ";".join(frames)
    return (
        "_worker (concurrent/futures/thread.py" in text
        and "store_batch" not in text
        and (frames[-1].startswith(("get (queue.py", "wait (threading.py", "_worker (concurrent")))
    )


_FRAME = re.compile(r"\((?P<file>[^()]+\.py):(?P<line>\d+)\)$")


@functools.lru_cache(maxsize=4096)
def _source_line(file: str, line: int) -> str:
    """The line a frame points at, for frames in this repo (``service/store/messages.py:132``)."""
    path = REPO / file
    with contextlib.suppress(OSError, IndexError):
        return path.read_text().splitlines()[line - 1]
    return ""


def _leaf_tokens(frames: list[str]) -> str:
    """A leaf inside our code that sits on a driver call is time in SQLite's C code: say which."""
    match = _FRAME.search(frames[-1]) if frames else None
    if not match or not match["file"].startswith(("service/", "workers/")):
        return ""
    line = _source_line(match["file"], int(match["line"]))
    if re.search(r"COMMIT|\.commit\(", line):
        return ";<sql-commit>"
    if re.search(r"\.execute(many)?\(", line):
        return ";<sql-exec>"
    return ""


def classify(frames: list[str], *, wall: bool = False) -> str:
    """``wall``: the samples include idle threads (py-spy ``--idle``), so a bare loop frame is idle;
    otherwise that thread was on a CPU inside the loop's C code (uvloop, libuv, httptools)."""
    text = ";".join(frames) + _leaf_tokens(frames)
    if frames and "_bootstrap" not in text and _is_idle_loop(frames):
        text = "<idle-loop>" if wall else "<loop-c>"
    elif frames and (_is_idle_pool(frames) if wall else frames[-1].startswith("_worker (concurrent/futures/thread.py")):
        # Without --idle py-spy still catches pool threads blocked in ``work_queue.get()`` now and then.
        text = "<idle-pool>"
    for label, alternatives in BUCKETS:
        for needles in alternatives:
            if all(n in text for n in needles):
                return label
    return "other"


def parse(raw: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames and frames[0].startswith(("thread (", "process ")):
            frames = frames[1:]
        stacks.append((frames, int(count)))
    return stacks


def summarize(raw: Path, *, by_thread: bool = False, wall: bool = False, top: int = 15) -> dict[str, Any]:
    """Bucket percentages; with ``by_thread`` also a separate split for the commit thread."""
    stacks = parse(raw)
    total = sum(c for _, c in stacks) or 1
    buckets: Counter[str] = Counter()
    main: Counter[str] = Counter()
    pool: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        label = classify(frames, wall=wall)
        buckets[label] += count
        (pool if "_bootstrap" in ";".join(frames) else main)[label] += count
        if frames:
            self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        n = sum(counter.values()) or 1
        return [(k, round(100 * v / n, 1)) for k, v in counter.most_common()]

    result: dict[str, Any] = {
        "samples": total,
        "categories": pct(buckets),
        "top_self": [(k, round(100 * v / total, 1)) for k, v in self_time.most_common(top)],
        "top_inclusive": [(k, round(100 * v / total, 1)) for k, v in inclusive.most_common(top * 2)],
    }
    if by_thread:
        result["main_thread"] = pct(main)
        result["pool_threads"] = pct(pool)
        result["main_samples"] = sum(main.values())
        result["pool_samples"] = sum(pool.values())
    return result


def main(argv: list[str]) -> int:
    wall = "--wall" in argv
    for name in (a for a in argv if a != "--wall"):
        data = summarize(Path(name), by_thread=True, wall=wall)
        print(f"{name}: {data['samples']:,} samples")
        for section in ("categories", "main_thread", "pool_threads", "top_self", "top_inclusive"):
            print(f"  -- {section}")
            for label, p in data.get(section, []):
                print(f"    {p:5.1f}%  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
