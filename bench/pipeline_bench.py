"""Worker throughput: messages/s through ``parse → extract_otp → extract_links → slack`` on one
worker process, next to arq's no-op job rate with the same worker settings, measured alternately.

One round, per ``MAILHOOK_WORKER_MAX_JOBS`` value asked for:

* **no-op**: N jobs in Mailhook's job format (``JobQueue.enqueue_many``) are queued, then
  ``bench/_noop_worker.py`` (arq ``Worker`` with the queue settings of ``workers.main
  .WorkerSettings``, a function that returns at once) drains them in burst mode.
* **pipeline**: N raw-MIME messages (~20 KB OTP mail, unique Message-ID each) are stored into a
  fresh copy of a migrated SQLite DB with ``service.store.messages.store_batch`` (emails built by the real
  ``raw`` provider, as ``POST /hooks/raw/…`` would), their jobs queued with ``enqueue_many``, then
  ``mailhook worker --burst`` drains them; Slack is a local fake (``bench/_fake_slack.py``).

Rates come from arq's own job records (``start_time``/``finish_time`` of every job, kept in Redis):
N / (last finish − first start), so process start-up is excluded; per-job latency is each job's
finish − start. Worker CPU is sampled from /proc during the run and interpolated at those two
instants. After each pipeline run every message must be ``processed``, every run ``succeeded``,
and the fake Slack must have received N posts carrying the OTP code.

    bench/pipeline                          # N=3000, max_jobs 16,32,64, 2 rounds; ~2-3 min
    bench/pipeline --max-jobs 32 --repeat 3
    bench/pipeline --profile                # plus py-spy runs of the worker (on-CPU and GIL holder)
    bench/pipeline --help
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _harness as h
from bench._otp_mail import DOMAIN, OTP_CODE, RECIPIENT, otp_message, with_id

TARGET_RATIO = 0.5
STEPS = ["parse", "extract_otp", "extract_links", "slack"]
SLACK_PATH = "/services/T000/B000/XXXX"


# --------------------------------------------------------------------------- setup


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/pipeline", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--messages", "-n", type=int, default=3000, help="messages (and no-op jobs) per run (default 3000)")
    p.add_argument(
        "--max-jobs", default="16,32,64", help="comma-separated MAILHOOK_WORKER_MAX_JOBS values (default 16,32,64)"
    )
    p.add_argument("--repeat", type=int, default=2, help="alternating no-op/pipeline rounds per value (default 2)")
    p.add_argument("--body-kb", type=float, default=20.0, help="message size in KB (default 20)")
    p.add_argument("--steps", default=",".join(STEPS), help=f"pipeline steps (default {','.join(STEPS)})")
    p.add_argument(
        "--env", action="append", default=[], metavar="MAILHOOK_X=V", help="extra env for both workers; repeatable"
    )
    p.add_argument("--only", choices=["noop", "pipeline"], help="measure one of the two only (no ratio)")
    p.add_argument(
        "--floor",
        action="store_true",
        help="also measure the pipeline floor: the no-op worker doing only a stdlib parse of the mail and "
        "a Slack POST (no DB, no extraction); its ratio is the best any implementation can reach here",
    )
    p.add_argument(
        "--uvloop", action="store_true", help="run both workers on uvloop (bench/_uvloop_run.py; code unchanged)"
    )
    p.add_argument("--no-pin", dest="pin", action="store_false", help="by default: worker on CPU 0, rest on CPU 1")
    p.add_argument("--worker-cpus", default="0")
    p.add_argument("--load-cpus", default="1", help="CPUs for Redis, the fake Slack and this process (default 1)")
    p.add_argument("--profile", action="store_true", help="after measuring, profile one pipeline run with py-spy")
    p.add_argument("--profile-max-jobs", type=int, default=None, help="max_jobs for the profiled run (default: 1st)")
    p.add_argument(
        "--quiet-wait", type=float, default=120.0, help="wait up to N s for a quiet box before each run (default 120)"
    )
    p.add_argument("--quiet-threshold", type=float, default=15.0)
    p.add_argument("--no-json", dest="json", action="store_false")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (DBs, logs)")
    args = p.parse_args(argv)
    args.max_jobs_values = [int(v) for v in args.max_jobs.split(",") if v.strip()]
    if not args.pin:
        args.worker_cpus = args.load_cpus = None
    return args


def write_config(stack: h.MailhookStack, slack_port: int, steps: list[str]) -> None:
    """The stack's sources plus a Slack target on loopback (allowed), the pipeline under test as
    ``default`` and an ``smtp:`` section (unused here)."""
    lines = stack.config_path.read_text().rstrip("\n").splitlines()
    lines += [
        "slack:",
        f"  webhook_url: http://127.0.0.1:{slack_port}{SLACK_PATH}",
        "outbound:",
        '  allow_hosts: ["127.0.0.1"]',
        "pipelines:",
        "  default: [" + ", ".join(steps) + "]",
        "smtp:",
        f"  domains: [{DOMAIN}]",
    ]
    stack.config_path.write_text("\n".join(lines) + "\n")


@dataclass
class FakeSlack:
    port: int = field(default_factory=h.free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, cpus: str | None) -> FakeSlack:
        cmd = h.cpu_prefix(cpus) + [sys.executable, "-m", "bench._fake_slack", "--port", str(self.port)]
        cmd += ["--code", OTP_CODE]
        self.process = subprocess.Popen(cmd, cwd=h.REPO, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("fake Slack did not start")
        return self

    def stats(self) -> dict[str, int]:
        return h.http_json(f"http://{h.HOST}:{self.port}/_stats")

    def reset(self) -> None:
        h.http_json(f"http://{h.HOST}:{self.port}/_reset", method="POST")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def _checkpointed_template(stack: h.MailhookStack) -> Path:
    """The freshly migrated DB with its WAL folded in, so a file copy is a complete DB."""
    with contextlib.closing(sqlite3.connect(stack.db_path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    template = stack.root / "template.db"
    shutil.copyfile(stack.db_path, template)
    return template


def _count(db: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(sql).fetchone()[0])


# --------------------------------------------------------------------------- preparing a run


def _redis(stack: h.MailhookStack) -> Any:
    from redis import Redis

    return Redis.from_url(stack.redis.url)


def _flush_redis(stack: h.MailhookStack) -> None:
    """Empty Redis and compact its append-only file: the embedded Redis runs with AOF, and once
    the file has grown past 64 MB (a few runs of results) Redis forks a rewrite child that would
    land inside a measured run and take the load CPU. Rewriting the empty DB now keeps it small."""
    client = _redis(stack)
    try:
        client.flushdb()
        if client.config_get("appendonly").get("appendonly") == "yes":
            with contextlib.suppress(Exception):  # "already in progress": wait for that one instead
                client.bgrewriteaof()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                    break
                time.sleep(0.05)
    finally:
        client.close()


def steal_seconds() -> float:
    """CPU time the hypervisor gave to other guests (all vCPUs, /proc/stat "steal"). The harness
    counts it as other processes' load; reported apart, it tells a noisy host from a busy box."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return int(fields[7]) / os.sysconf("SC_CLK_TCK") if len(fields) > 7 else 0.0


def _redis_forks(stack: h.MailhookStack) -> int:
    client = _redis(stack)
    try:
        return int(client.info("stats").get("total_forks", 0))
    finally:
        client.close()


async def _enqueue(redis_url: str, queue_name: str, ids: list[str], chunk: int = 500) -> int:
    from redis.asyncio import Redis

    from service.handoff.queue import JobQueue

    client = Redis.from_url(redis_url)
    try:
        queue = JobQueue(client, queue_name)
        added = 0
        for start in range(0, len(ids), chunk):
            added += await queue.enqueue_many(ids[start : start + chunk])
        return added
    finally:
        await client.aclose()


def store_messages(db: Path, data_dir: Path, template: bytes, n: int, tag: str, *, batch: int = 256) -> list[str]:
    """N unique raw-MIME messages stored as the ``raw`` source would (provider parse + group commit
    ``store_batch``, ``batch`` per transaction); returns their message ids."""
    from service.config import SourceConfig
    from service.providers import INBOUND_PROVIDERS, Delivery
    from service.settings import Settings
    from service.store.blobs import BlobStore
    from service.store.db import make_engine

    settings = Settings(database_url=f"sqlite:///{db}", data_dir=data_dir)
    engine = make_engine(settings)
    blobs = BlobStore(settings.blob_dir)
    source = SourceConfig.model_validate({"name": "raw", "provider": "raw", "secrets": ["bench-raw-0123456789abcdef"]})
    provider = INBOUND_PROVIDERS["raw"]()
    headers = {"content-type": "message/rfc822"}
    query = {"to": RECIPIENT}
    ids: list[str] = []
    try:
        from service.store.messages import store_batch

        for start in range(0, n, batch):
            emails = []
            for i in range(start, min(n, start + batch)):
                body = with_id(template, f"{tag}0000{i:08x}")
                emails += provider.parse(Delivery(source=source, body=body, headers=headers, query=query))
            results = store_batch(engine, blobs, emails)
            assert not any(r.duplicate for r in results)
            ids += [r.message_id for r in results]
    finally:
        engine.dispose()
    return ids


# --------------------------------------------------------------------------- one measured run


@dataclass
class Sample:
    wall: float
    cpu: float
    sys: float


def _cpu_user_sys(pid: int) -> tuple[float, float]:
    """(user + system, system) CPU seconds of the whole process (all threads)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        tick = os.sysconf("SC_CLK_TCK")
        user, system = int(fields[11]) / tick, int(fields[12]) / tick
        return user + system, system
    return 0.0, 0.0


def _interp(samples: list[Sample], when: float, attr: str = "cpu") -> float:
    """Process CPU seconds at wall time ``when`` (linear between the two nearest samples)."""
    if not samples:
        return 0.0
    if when <= samples[0].wall:
        return float(getattr(samples[0], attr))
    for a, b in zip(samples, samples[1:], strict=False):
        if a.wall <= when <= b.wall:
            span = b.wall - a.wall
            va, vb = getattr(a, attr), getattr(b, attr)
            return float(va + (vb - va) * ((when - a.wall) / span if span else 0.0))
    return float(getattr(samples[-1], attr))


def _job_results(stack: h.MailhookStack, ids: list[str]) -> list[Any]:
    from arq.constants import result_key_prefix
    from arq.jobs import deserialize_result

    client = _redis(stack)
    try:
        out = []
        for start in range(0, len(ids), 1000):
            pipe = client.pipeline(transaction=False)
            for job_id in ids[start : start + 1000]:
                pipe.get(result_key_prefix + job_id)
            out += [deserialize_result(raw) for raw in pipe.execute() if raw is not None]
        return out
    finally:
        client.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def drain(
    kind: str,
    cmd: list[str],
    env: dict[str, str],
    ids: list[str],
    stack: h.MailhookStack,
    args: argparse.Namespace,
    known_pids: list[int],
    log_path: Path,
    profile: tuple[Path, str] | None = None,
) -> dict[str, Any]:
    """Start a burst worker over the queued ``ids``, sample its CPU until it exits, then read arq's
    job records for the rate and latencies."""
    full_env = {**os.environ, "PYTHONPATH": str(h.REPO), **env}
    forks = _redis_forks(stack)
    steal0 = steal_seconds()
    load = h.ForeignLoad(known_pids).start()
    launched = time.time()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            h.cpu_prefix(args.worker_cpus) + cmd, cwd=h.REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    load.known_pids.append(proc.pid)
    spy = None
    redis = _redis(stack) if profile is not None else None
    samples: list[Sample] = []
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        samples.append(Sample(time.time(), *_cpu_user_sys(proc.pid)))
        if redis is not None and profile is not None and redis.zcard(stack.queue_name) < len(ids):
            spy = _start_py_spy(proc.pid, *profile)  # from the first finished job on: no start-up samples
            redis.close()
            redis = None
        time.sleep(0.01)
    if proc.poll() is None:
        proc.kill()
    exit_code = proc.wait()
    exited = time.time()
    foreign = load.stop()
    foreign["steal_pct"] = round(100 * (steal_seconds() - steal0) / max(1e-6, exited - launched), 1)
    foreign["redis_forks"] = _redis_forks(stack) - forks  # an AOF rewrite inside the run (should be 0)
    if spy is not None:
        _finish_py_spy(spy)
    results = _job_results(stack, ids)
    if not results:
        raise RuntimeError(f"{kind}: no job results; worker log:\n{log_path.read_text(errors='replace')[-3000:]}")
    first = min(r.start_time for r in results).timestamp()
    last = max(r.finish_time for r in results).timestamp()
    span = max(1e-6, last - first)
    cpu_s = _interp(samples, last) - _interp(samples, first)
    sys_s = _interp(samples, last, "sys") - _interp(samples, first, "sys")
    lat = sorted((r.finish_time - r.start_time).total_seconds() * 1000 for r in results)
    outcomes = Counter(str(r.result) if r.success else f"error: {type(r.result).__name__}" for r in results)
    return {
        "kind": kind,
        "jobs": len(ids),
        "results": len(results),
        "outcomes": dict(outcomes),
        "rate": round(len(results) / span, 1),
        "span_s": round(span, 3),
        "startup_s": round(first - launched, 3),
        "shutdown_s": round(exited - last, 3),
        "rate_incl_startup": round(len(results) / (exited - launched), 1),
        "worker_cpu_pct": round(100 * cpu_s / span, 1),
        "cpu_ms_per_job": round(1000 * cpu_s / len(results), 3),
        "sys_ms_per_job": round(1000 * sys_s / len(results), 3),
        "latency_ms": {
            "p50": round(_percentile(lat, 50), 2),
            "p99": round(_percentile(lat, 99), 2),
            "max": round(lat[-1], 2),
        },
        "exit_code": exit_code,
        **foreign,
    }


def _start_py_spy(pid: int, out: Path, mode: str) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        sys.exit("bench: py-spy not found; `pip install py-spy` into the venv")
    cmd = [exe, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--output", str(out), "--nonblocking"]
    cmd += {"cpu": [], "gil": ["--gil"], "wall": ["--idle"]}[mode]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish_py_spy(proc: subprocess.Popen[bytes]) -> None:
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode not in (0, None):
        print(f"bench: py-spy exited {proc.returncode}: {err.decode(errors='replace')[-400:]}", file=sys.stderr)


@dataclass
class Bench:
    args: argparse.Namespace
    stack: h.MailhookStack
    slack: FakeSlack
    template_db: Path
    body: bytes
    runs: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0

    def known_pids(self) -> list[int]:
        return [self.stack.redis.process.pid, *([self.slack.process.pid] if self.slack.process else [])]

    def _env(self, max_jobs: int, db: Path, data_dir: Path) -> dict[str, str]:
        extra = dict(item.split("=", 1) for item in self.args.env)
        return {
            **self.stack.env,
            "MAILHOOK_DATABASE_URL": f"sqlite:///{db}",
            "MAILHOOK_DATA_DIR": str(data_dir),
            "MAILHOOK_WORKER_MAX_JOBS": str(max_jobs),
            **extra,
        }

    def _quiet(self) -> None:
        if self.args.quiet_wait > 0:
            h.wait_for_quiet(self.args.quiet_threshold, self.args.quiet_wait)

    def noop(self, max_jobs: int, *, floor: bool = False) -> dict[str, Any]:
        self.counter += 1
        tag = h.new_tag()
        ids = [f"noop{tag}{i:06d}" for i in range(self.args.messages)]
        _flush_redis(self.stack)
        asyncio.run(_enqueue(self.stack.redis.url, self.stack.queue_name, ids))
        env = self._env(max_jobs, self.template_db, self.stack.root / "var")
        if floor:
            env["MAILHOOK_BENCH_FLOOR_SLACK_URL"] = f"http://127.0.0.1:{self.slack.port}/services/TFLOOR/B/X"
            env["MAILHOOK_BENCH_FLOOR_BYTES"] = str(len(self.body))
        self._quiet()
        cmd = [sys.executable, "-m", *(["bench._uvloop_run"] if self.args.uvloop else []), "bench._noop_worker"]
        kind = "floor" if floor else "no-op"
        log = self._log(f"{kind}-{max_jobs}")
        run = drain(kind, cmd, env, ids, self.stack, self.args, self.known_pids(), log)
        run["max_jobs"] = max_jobs
        run["ok"] = run["results"] == len(ids) and run["outcomes"] == {"noop": len(ids)} and run["exit_code"] == 0
        return self._report(run)

    def pipeline(self, max_jobs: int, profile: tuple[Path, str] | None = None) -> dict[str, Any]:
        self.counter += 1
        tag = h.new_tag()
        run_dir = self.stack.root / f"run{self.counter:02d}"
        run_dir.mkdir()
        db = run_dir / "mailhook.db"
        shutil.copyfile(self.template_db, db)
        ids = store_messages(db, run_dir / "var", self.body, self.args.messages, tag)
        _flush_redis(self.stack)
        added = asyncio.run(_enqueue(self.stack.redis.url, self.stack.queue_name, ids))
        assert added == len(ids), (added, len(ids))
        self.slack.reset()
        env = self._env(max_jobs, db, run_dir / "var")
        self._quiet()
        mailhook = Path(sys.executable).parent / "mailhook"
        if self.args.uvloop:
            cmd = [sys.executable, "-m", "bench._uvloop_run", "service", "worker", "--burst"]
        elif mailhook.exists():
            cmd = [str(mailhook), "worker", "--burst"]
        else:
            cmd = [sys.executable, "-m", "service", "worker", "--burst"]
        name = f"pipeline-{max_jobs}" + (f"-profile-{profile[1]}" if profile else "")
        run = drain("pipeline", cmd, env, ids, self.stack, self.args, self.known_pids(), self._log(name), profile)
        run["max_jobs"] = max_jobs
        stats = self.slack.stats()
        n = len(ids)
        run["check"] = {
            "processed": _count(db, "SELECT count(*) FROM message WHERE status = 'processed'"),
            "runs_succeeded": _count(db, "SELECT count(*) FROM pipelinerun WHERE status = 'succeeded'"),
            "steps_succeeded": _count(db, "SELECT count(*) FROM steprun WHERE status = 'succeeded'"),
            "slack_posts": stats["posts"],
            "slack_posts_with_code": stats["with_code"],
            "slack_bad": stats["bad"],
            "slack_connections": stats["connections"] - 1,  # minus the bench's own stats request
        }
        steps = len(self.args.steps.split(","))
        c = run["check"]
        run["ok"] = (
            run["exit_code"] == 0
            and run["outcomes"] == {"processed": n}
            and c["processed"] == c["runs_succeeded"] == n
            and c["steps_succeeded"] == n * steps
            and ("slack" not in self.args.steps or c["slack_posts"] == c["slack_posts_with_code"] == n)
        )
        if not self.args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        return self._report(run)

    def _log(self, name: str) -> Path:
        return self.stack.root / f"worker-{name}-{self.counter:02d}.log"

    def _report(self, run: dict[str, Any]) -> dict[str, Any]:
        lat = run["latency_ms"]
        print(
            f"  {run['kind']:<8} max_jobs {run['max_jobs']:>3}: {run['rate']:7,.0f} jobs/s  "
            f"p50 {lat['p50']:7.2f} ms  p99 {lat['p99']:7.2f} ms  worker CPU {run['worker_cpu_pct']:3.0f}% "
            f"= {run['cpu_ms_per_job']:.2f} ms/job ({run['sys_ms_per_job']:.2f} sys)  "
            f"(start-up {run['startup_s']:.1f} s)  "
            f"other processes {run['foreign_pct']:3.0f}% (of which host steal {run['steal_pct']:3.0f}%)  "
            f"{'OK' if run['ok'] else 'CHECK FAILED'}",
            flush=True,
        )
        if "check" in run:
            c = run["check"]
            print(f"           Slack: {c['slack_posts']:,} posts ({c['slack_posts_with_code']:,} with the code) "
                  f"over {c['slack_connections']} connection(s)")  # fmt: skip
        if run.get("redis_forks"):
            print("           note: Redis forked (AOF rewrite) during this run; its CPU counts as other processes")
        if not run["ok"]:
            print(f"           outcomes {run['outcomes']} check {run.get('check')} exit {run['exit_code']}")
        self.runs.append(run)
        return run


# --------------------------------------------------------------------------- profile


# Two views of the same samples. "phase": which part of a job a stack belongs to, from the
# function names anywhere in it (first matching phase wins, most specific first). "library": what
# code was actually running, from the leaf up (the first frame that names a library decides).
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("hydrate: parse_mime (stdlib email, compat32)", ("parse_mime (",)),
    ("hydrate: read raw MIME blob", ("BlobStore.read",)),
    ("hydrate: UPDATE message + commit", ("_store (workers/hydrate.py",)),
    ("job: load_job (message, attachments, runs; mark processing)", ("load_job (",)),
    ("engine: save_run (run, step rows, message status)", ("save_run (",)),
    ("group commit: transaction + COMMIT (TransactionBatcher)", ("TransactionBatcher._execute",)),
    ("engine: bounded_output (json dumps+loads per step)", ("bounded_output",)),
    ("parse step: stored_attachments query", ("stored_attachments",)),
    ("parse step: reply text", ("_reply_of", "reply_text")),
    ("extract_otp: find_code", ("find_code",)),
    ("extract_links: find_links", ("find_links",)),
    ("slack: payload + httpx POST (+ outbound guard)", ("Slack.run", "httpx/", "httpcore/", "h11/")),
    ("routing: select_pipelines / compiled config", ("select_pipelines", "WorkerDeps.compiled")),
    ("job / engine glue (workers/)", ("workers/",)),
    ("arq: poll, fetch + unpickle job, pickle + write result", ("arq/",)),
    ("thread pool: hand-off / waking threads", ("concurrent/futures", "threading.py")),
    ("asyncio event loop (select, callbacks)", ("asyncio/", "selectors.py", "uvloop")),
    ("other (incl. stacks py-spy could not unwind to the root)", ("",)),
]

LIBRARIES: list[tuple[str, tuple[str, ...]]] = [
    ("sqlite3 C: execute/step/fetch", ("do_execute (", "do_executemany (", "fetchall (", "fetchone (", "_fetch")),
    ("sqlite3 C: COMMIT (WAL append + fsync)", ("do_commit (",)),
    ("SQLAlchemy / SQLModel (Python)", ("sqlalchemy", "sqlmodel/")),
    ("json (stdlib)", ("json/",)),
    ("email (stdlib parser)", ("email/", "quopri")),
    ("selectolax / html_text", ("html_text.py", "selectolax")),
    ("extract code (workers/extract: regex, scoring)", ("workers/extract/",)),
    ("httpx / httpcore / h11 / anyio", ("httpx/", "httpcore/", "h11/", "anyio/", "outbound.py")),
    ("pydantic", ("pydantic",)),
    ("jinja2 / templating", ("jinja2/", "templating.py")),
    ("redis-py + hiredis", ("redis/",)),
    ("arq", ("arq/",)),
    ("other Mailhook code (workers/, service/)", ("workers/", "service/")),
    ("threading / concurrent.futures", ("concurrent/futures", "threading.py", "queue.py")),
    ("asyncio / selectors", ("asyncio/", "selectors.py", "uvloop")),
    ("stdlib other (re, datetime, uuid, …)", ("",)),
]


def _frames_of(raw: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            if frames and frames[0].startswith(("thread (", "process ")):
                frames = frames[1:]
            stacks.append((frames, int(count)))
    return stacks


def _phase(frames: list[str]) -> str:
    text = ";".join(frames)
    return next(label for label, needles in PHASES if any(n in text for n in needles))


def _library(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, needles in LIBRARIES[:-1]:
            if any(n in frame for n in needles):
                return label
    return LIBRARIES[-1][0]


def summarize_profile(raw: Path) -> dict[str, Any]:
    stacks = _frames_of(raw)
    total = sum(c for _, c in stacks) or 1
    phases: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for frames, count in stacks:
        phases[_phase(frames)] += count
        libraries[_library(frames)] += count
        if frames:
            leaves[frames[-1]] += count

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common()]

    return {
        "file": str(raw.relative_to(h.REPO)) if raw.is_relative_to(h.REPO) else str(raw),
        "samples": total,
        "phases": pct(phases),
        "libraries": pct(libraries),
        "top_self": pct(leaves)[:15],
    }


# --------------------------------------------------------------------------- main


def summarise(runs: list[dict[str, Any]], values: list[int]) -> list[dict[str, Any]]:
    """Per max_jobs: medians of each kind's measured (unprofiled) runs, and the ratio when both ran."""

    def med(rs: list[dict[str, Any]], key: str, sub: str | None = None) -> float | None:
        return float(statistics.median(r[key][sub] if sub else r[key] for r in rs)) if rs else None

    rows = []
    for max_jobs in values:
        row: dict[str, Any] = {"max_jobs": max_jobs}
        kinds = {"noop": "no-op", "pipeline": "pipeline", "floor": "floor"}
        picked = {k: [r for r in runs if r["kind"] == v and r["max_jobs"] == max_jobs and "profile" not in r]
                  for k, v in kinds.items()}  # fmt: skip
        for key, rs in picked.items():
            row[f"{key}_rate"] = med(rs, "rate")
            row[f"{key}_cpu_ms"] = med(rs, "cpu_ms_per_job")
            row[f"{key}_p50"] = med(rs, "latency_ms", "p50")
            row[f"{key}_p99"] = med(rs, "latency_ms", "p99")
            row[f"{key}_worker_cpu_pct"] = med(rs, "worker_cpu_pct")
        noop, pipe = picked["noop"], picked["pipeline"]
        row["ratio"] = round(row["pipeline_rate"] / row["noop_rate"], 3) if noop and pipe else None
        row["floor_ratio"] = round(row["floor_rate"] / row["noop_rate"], 3) if noop and picked["floor"] else None
        row["ratio_per_round"] = [round(p["rate"] / n["rate"], 3) for n, p in zip(noop, pipe, strict=False)]
        row["foreign_pct_max"] = max((r["foreign_pct"] for r in noop + pipe), default=0.0)
        row["steal_pct_max"] = max((r.get("steal_pct", 0.0) for r in noop + pipe), default=0.0)
        rows.append(row)
    return rows


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def report(results: dict[str, Any]) -> None:
    env = results["environment"]
    print()
    print("== pipeline benchmark ==")
    print(
        f"environment: {env['cores']} cores ({env['cpu']}), Python {env['python']}, SQLite {env['sqlite']}, "
        f"arq {env.get('arq')}; pinning: {env['pinning']}; fsync p50 {env['fsync_ms']['p50']} ms"
    )
    print(
        f"work: {results['args']['messages']:,} jobs per run; {results['body_bytes']:,} B multipart OTP mail; "
        f"pipeline [{results['args']['steps']}]; fake Slack on loopback; poll_delay 0.05 s; "
        f"median of {results['args']['repeat']} alternating rounds"
    )
    print()
    print(
        f"{'max_jobs':>8} | {'no-op jobs/s':>12} | {'pipeline msg/s':>14} | {'ratio':>5} | {'target':>6} | "
        f"{'pipeline p50/p99 ms':>19} | {'no-op p50/p99 ms':>16} | {'CPU ms/job pipe / no-op':>23} | "
        f"{'worker CPU':>10} | other procs (host steal)"
    )
    for r in results["summary"]:
        verdict = "-" if r["ratio"] is None else "MET" if r["ratio"] >= TARGET_RATIO else "NOT MET"
        print(
            f"{r['max_jobs']:>8} | {_f(r['noop_rate'], ',.0f'):>12} | {_f(r['pipeline_rate'], ',.0f'):>14} | "
            f"{_f(r['ratio'], '.2f'):>5} | {verdict:>6} | "
            f"{_f(r['pipeline_p50'], '.1f'):>8} / {_f(r['pipeline_p99'], '.1f'):>7} | "
            f"{_f(r['noop_p50'], '.1f'):>7} / {_f(r['noop_p99'], '.1f'):>6} | "
            f"{_f(r['pipeline_cpu_ms'], '.2f'):>10} / {_f(r['noop_cpu_ms'], '.2f'):>10} | "
            f"{_f(r['pipeline_worker_cpu_pct'], '.0f'):>4}% / {_f(r['noop_worker_cpu_pct'], '.0f'):>3}% | "
            f"up to {r['foreign_pct_max']:>3.0f}% ({r['steal_pct_max']:.0f}% steal)"
        )
    for r in results["summary"]:
        if r.get("floor_ratio") is not None:
            print(
                f"floor (max_jobs {r['max_jobs']}): {r['floor_rate']:,.0f} jobs/s, {r['floor_cpu_ms']:.2f} ms CPU/job "
                f"= {r['floor_ratio']:.2f} of no-op (parse + Slack POST only; the best ratio any pipeline can reach)"
            )
    bad = [r for r in results["runs"] if not r["ok"]]
    print(f"checks: {'all runs OK' if not bad else f'{len(bad)} run(s) FAILED'} (pipeline: every message processed,")
    print("        every run succeeded, all steps recorded, N Slack posts carrying the OTP; no-op: N results)")
    for mode, prof in (results.get("profile") or {}).items():
        what = "all threads py-spy saw active: on CPU, in disk I/O, or waking" if mode == "cpu" else "GIL holder"
        print(f"\nprofile ({mode}: {what}), {prof['samples']:,} samples, {prof['file']}; "
              f"run at {prof['rate']:,.0f} msg/s under py-spy, {prof['cpu_ms_per_job']:.2f} ms CPU/job")  # fmt: skip
        for view in ("phases", "libraries"):
            print(f"  by {view[:-3] + 'y' if view == 'libraries' else view[:-1]}:")
            for label, pct in prof[view]:
                if pct >= 0.5:
                    print(f"    {pct:5.1f}%  {label}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.pin and args.load_cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {int(c) for c in args.load_cpus.split(",")})
    results: dict[str, Any] = {"benchmark": "pipeline", "args": {k: v for k, v in vars(args).items()}}
    busy = h.idle_check()
    if busy > 20:
        print(f"bench: warning: other processes use {busy:.0f}% of a core right now", file=sys.stderr)
    slack = FakeSlack()
    with h.MailhookStack(sources={"raw": "raw"}, redis_cpus=args.load_cpus, keep=args.keep) as stack:
        try:
            slack.start(args.load_cpus)
            write_config(stack, slack.port, args.steps.split(","))
            env = h.environment(stack.root)
            env["arq"] = h._version("arq")
            env["pinning"] = (
                f"worker on CPU {args.worker_cpus}; Redis, fake Slack, bench on CPU {args.load_cpus}"
                if args.pin
                else "none"
            )
            env["other_processes_pct_at_start"] = busy
            results["environment"] = env
            body = otp_message(int(args.body_kb * 1024))
            results["body_bytes"] = len(body)
            bench = Bench(args, stack, slack, _checkpointed_template(stack), body)
            print(
                f"pipeline bench: {args.messages:,} jobs per run, max_jobs {args.max_jobs_values}, "
                f"{args.repeat} round(s) of (no-op, pipeline); {len(body):,} B messages; {env['pinning']}",
                flush=True,
            )
            for _ in range(args.repeat):
                for max_jobs in args.max_jobs_values:
                    if args.only != "pipeline":
                        bench.noop(max_jobs)
                    if args.only != "noop":
                        bench.pipeline(max_jobs)
                    if args.floor:
                        bench.noop(max_jobs, floor=True)
            results["runs"] = bench.runs
            results["summary"] = summarise(bench.runs, args.max_jobs_values)
            if args.profile:
                results["profile"] = _profile(bench, args)
        finally:
            slack.stop()
    report(results)
    if args.json:
        path = h.write_results("pipeline", results)
        print(f"results written to {path.relative_to(h.REPO)}")
    return 0 if all(r["ok"] for r in results["runs"]) else 1


def _profile(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    max_jobs = args.profile_max_jobs or args.max_jobs_values[0]
    h.RESULTS.mkdir(parents=True, exist_ok=True)
    for mode in ("cpu", "gil"):
        raw = h.RESULTS / f"pipeline-profile-{mode}.txt"
        print(f"  profiling ({mode}) one pipeline run, max_jobs {max_jobs}, with py-spy → {raw.relative_to(h.REPO)}")
        run = bench.pipeline(max_jobs, profile=(raw, mode))
        run["profile"] = mode
        out[mode] = {**summarize_profile(raw), "rate": run["rate"], "cpu_ms_per_job": run["cpu_ms_per_job"]}
    return out


if __name__ == "__main__":
    sys.exit(main())
