"""Reusable parts of Mailhook's benchmarks: a throw-away Mailhook stack (migrated SQLite, embedded
Redis, mailhook.yaml), uvicorn subprocesses started the same way for every target, wrk driven
with per-request unique bodies, and the environment the figures were taken on.

Later benchmarks (raw MIME, SMTP, pipeline) import from here; nothing in it is ingest-specific.
Everything binds to 127.0.0.1 only, and every load run is bounded by a fixed duration.
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
WRK_SCRIPT = BENCH / "wrk_unique_post.lua"
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- environment


def has_module(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def uvicorn_impls() -> tuple[str, str]:
    """(loop, http) the benchmark runs every uvicorn with: the fast ones when installed."""
    loop = "uvloop" if has_module("uvloop") else "asyncio"
    http = "httptools" if has_module("httptools") else "h11"
    return loop, http


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fsync_latency_ms(directory: Path, samples: int = 50) -> dict[str, float]:
    """Median/p90 of 4 KiB write+fsync in ``directory``: the floor under every durable commit."""
    times: list[float] = []
    path = directory / ".fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(samples):
            os.write(fd, b"\0" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    times.sort()
    return {"p50": round(times[len(times) // 2], 3), "p90": round(times[int(len(times) * 0.9)], 3)}


def wrk_version() -> str | None:
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return " ".join(first[0].split()[:2]) if first else None


def git_state() -> dict[str, Any]:
    """The commit measured and whether the code under test had local changes (read-only git)."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return out.stdout.rstrip("\n")

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "service", "workers").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "dirty": dirty}


def environment(data_dir: Path | None = None) -> dict[str, Any]:
    loop, http = uvicorn_impls()
    env: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "uvicorn": _version("uvicorn"),
        "uvicorn_loop": loop,
        "uvicorn_http": http,
        "starlette": _version("starlette"),
        "sqlalchemy": _version("SQLAlchemy"),
        "sqlite": sqlite3.sqlite_version,
        "redis_py": _version("redis"),
        "wrk": wrk_version(),
        "git": git_state(),
    }
    if data_dir is not None:
        env["fsync_ms"] = fsync_latency_ms(data_dir)
    return env


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench: wrk not found on PATH; install it with `apt-get install -y wrk` (Debian package 'wrk')")
    return wrk


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_prefix(cpus: str | None) -> list[str]:
    """``taskset -c CPUS`` when pinning was asked for and is possible, else nothing."""
    if not cpus:
        return []
    taskset = shutil.which("taskset")
    if taskset is None:
        print("bench: taskset not found; running unpinned", file=sys.stderr)
        return []
    return [taskset, "-c", cpus]


def pin_pid(pid: int, cpus: str | None) -> None:
    """Pin an already running process (and its threads) to ``cpus``."""
    if not cpus or shutil.which("taskset") is None:
        return
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], capture_output=True, check=False)


def wait_http(
    url: str, *, timeout_s: float = 20.0, expect: int = 200, proc: subprocess.Popen[Any] | None = None
) -> None:
    """Poll ``url`` until it answers ``expect``; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before becoming ready")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == expect:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            last = exc.code
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout_s:.0f}s (last: {last})")


def http_json(url: str, *, method: str = "GET", timeout_s: float = 5.0) -> Any:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


class ServerProcess:
    """Stopping a benchmarked server process: SIGTERM (uvicorn and ``mailhook smtp`` run their
    shutdown, so the writer and enqueuer flush), wait, kill if it hangs. Subclasses set
    ``process`` in ``start`` and return themselves from ``__enter__``."""

    process: subprocess.Popen[bytes] | None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, timeout_s: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class UvicornServer(ServerProcess):
    """One uvicorn process (no workers supervisor) serving ``app``, identical flags for every target.

    ``app`` is an import string; ``factory=True`` calls it (``service.web.app:create_app``).
    """

    name: str
    app: str
    factory: bool = False
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = None
    ready_path: str = "/livez"
    log_path: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        loop, http = uvicorn_impls()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--loop",
            loop,
            "--http",
            http,
            "--no-access-log",
            "--no-server-header",
            "--no-proxy-headers",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ]
        if self.factory:
            cmd.append("--factory")
        cmd += self.extra_args
        return cpu_prefix(self.cpus) + cmd

    def start(self, timeout_s: float = 30.0) -> UvicornServer:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **self.env}
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(self.base_url + self.ready_path, timeout_s=timeout_s, proc=self.process)
        except Exception:
            self.stop()
            if self.log_path and self.log_path.exists():
                sys.stderr.write(self.log_path.read_text(errors="replace")[-4000:])
            raise
        return self

    def __enter__(self) -> UvicornServer:
        return self.start()


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user+sys) per thread of ``pid``, keyed "main" / "thread <tid> <name>"; empty if gone."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (task / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                seconds = (int(fields[11]) + int(fields[12])) / _ticks()
                name = (task / "comm").read_text().strip()
                key = "main" if task.name == str(pid) else f"thread {task.name} {name}"
                out[key] = seconds
    return out


@dataclass
class CpuMeter:
    """CPU used by a process (split main thread / other threads) between ``start()`` and ``stop()``."""

    pid: int
    _before: dict[str, float] = field(default_factory=dict)
    _t0: float = 0.0

    def start(self) -> CpuMeter:
        self._before = thread_cpu_seconds(self.pid)
        self._t0 = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        after = thread_cpu_seconds(self.pid)
        wall = time.monotonic() - self._t0
        main = after.get("main", 0.0) - self._before.get("main", 0.0)
        others = sum(v - self._before.get(k, 0.0) for k, v in after.items() if k != "main")
        return {
            "wall_s": round(wall, 2),
            "main_thread_pct": round(100 * main / wall, 1),
            "other_threads_pct": round(100 * others / wall, 1),
            "total_pct": round(100 * (main + others) / wall, 1),
        }


def process_cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _ticks()
    return 0.0


def _system_busy_seconds() -> float:
    """CPU seconds all cores spent not idle (user, nice, system, irq, softirq, steal) since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / _ticks()


@dataclass
class ForeignLoad:
    """How much CPU *other* processes used during a run: the whole machine's busy time minus the
    processes the benchmark knows (server, Redis, load tool, itself). Other sessions' test suites
    on the same 2-core box show up here and make a run noisy."""

    known_pids: list[int]
    _busy: float = 0.0
    _known: float = 0.0
    _children: float = 0.0
    _t0: float = 0.0

    def _known_cpu(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.known_pids) + process_cpu_seconds(os.getpid())

    @staticmethod
    def _children_cpu() -> float:
        t = os.times()
        return t.children_user + t.children_system

    def start(self) -> ForeignLoad:
        self._busy, self._known, self._children = _system_busy_seconds(), self._known_cpu(), self._children_cpu()
        self._t0 = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        busy = _system_busy_seconds() - self._busy
        known = self._known_cpu() - self._known
        load_tool = self._children_cpu() - self._children  # wrk (and taskset) exited inside the window
        foreign = max(0.0, busy - known - load_tool)
        return {"load_tool_pct": round(100 * load_tool / wall, 1), "foreign_pct": round(100 * foreign / wall, 1)}


def idle_check(seconds: float = 1.0) -> float:
    """Percent of one core other processes use right now (before the benchmark starts anything)."""
    meter = ForeignLoad([]).start()
    time.sleep(seconds)
    return meter.stop()["foreign_pct"]


def wait_for_quiet(threshold_pct: float, timeout_s: float, probe_s: float = 0.5) -> float:
    """Wait (up to ``timeout_s``) until other processes use under ``threshold_pct`` of a core;
    on a shared box other sessions' test runs would otherwise land inside a measurement."""
    deadline = time.monotonic() + timeout_s
    load = idle_check(probe_s)
    while load >= threshold_pct and time.monotonic() < deadline:
        load = idle_check(probe_s)
    return load


# --------------------------------------------------------------------------- Mailhook stack


@dataclass
class MailhookStack:
    """A temp dir holding a fresh migrated SQLite DB, an embedded Redis and a mailhook.yaml.

    ``env`` is what a Mailhook process needs (MAILHOOK_* variables); ``sources`` maps source name to
    (provider, secret). Use as a context manager; the directory is removed unless ``keep``.
    """

    sources: dict[str, str] = field(default_factory=lambda: {"improvmx": "improvmx"})
    redis_cpus: str | None = None
    keep: bool = False
    root: Path = field(init=False)
    secrets: dict[str, str] = field(init=False, default_factory=dict)
    redis: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailhook-bench-"))

    @property
    def db_path(self) -> Path:
        return self.root / "mailhook.db"

    @property
    def config_path(self) -> Path:
        return self.root / "mailhook.yaml"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def queue_name(self) -> str:
        return "mailhook:queue"

    def settings_kwargs(self) -> dict[str, Any]:
        return {
            "database_url": self.database_url,
            "redis_url": self.redis.url,
            "config": self.config_path,
            "data_dir": self.root / "var",
            "queue_name": self.queue_name,
        }

    @property
    def env(self) -> dict[str, str]:
        return {
            "MAILHOOK_DATABASE_URL": self.database_url,
            "MAILHOOK_REDIS_URL": self.redis.url,
            "MAILHOOK_CONFIG": str(self.config_path),
            "MAILHOOK_DATA_DIR": str(self.root / "var"),
            "MAILHOOK_QUEUE_NAME": self.queue_name,
            "MAILHOOK_ENVIRONMENT": "bench",
            "MAILHOOK_LOG_LEVEL": "WARNING",
        }

    def start(self) -> MailhookStack:
        sys.path.insert(0, str(REPO))
        from service.cli.embedded_redis import EmbeddedRedis
        from service.settings import Settings
        from service.store.db import make_engine
        from service.store.migrate import upgrade

        self.redis = EmbeddedRedis(self.root / "redis").start()
        assert self.redis.process is not None
        pin_pid(self.redis.process.pid, self.redis_cpus)
        engine = make_engine(Settings(database_url=self.database_url))
        upgrade(engine)
        engine.dispose()
        lines = ["sources:"]
        for name, provider in self.sources.items():
            self.secrets[name] = f"bench-{name}-{secrets.token_hex(12)}"
            lines += [f"  - name: {name}", f"    provider: {provider}", f"    secrets: [{self.secrets[name]}]"]
        self.config_path.write_text("\n".join(lines) + "\n")
        return self

    def hook_path(self, source: str) -> str:
        return f"/hooks/{source}/{self.secrets[source]}"

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def queued_jobs(self) -> int:
        from redis import Redis

        client = Redis.from_url(self.redis.url)
        try:
            return int(cast(int, client.zcard(self.queue_name)))  # a sync client's reply, typed maybe-awaitable
        finally:
            client.close()

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> MailhookStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- wrk


@dataclass
class BodyTemplate:
    """A request body with ``marker`` wherever a per-request unique id goes (fixed-length hex)."""

    path: Path
    marker: str
    content_type: str = "application/json"

    @classmethod
    def write(cls, directory: Path, name: str, body: bytes, marker: str, content_type: str) -> BodyTemplate:
        if marker.encode() not in body:
            raise ValueError(f"marker {marker!r} not in body")
        path = directory / name
        path.write_bytes(body)
        return cls(path, marker, content_type)


@dataclass
class WrkResult:
    url: str
    duration_s: float
    connections: int
    threads: int
    requests: int
    responses_2xx: int
    non_2xx: int
    socket_errors: dict[str, int]
    rps: float
    ok_rps: float
    latency_ms: dict[str, float]
    bytes_read: int
    first_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_WRK_LINE = re.compile(r"^BENCH_JSON (\{.*\})$", re.MULTILINE)


def run_wrk(
    url: str,
    body: BodyTemplate,
    *,
    tag: str,
    duration_s: float,
    connections: int = 32,
    threads: int = 1,
    cpus: str | None = None,
    timeout_s: float = 10.0,
) -> WrkResult:
    """POST unique bodies to ``url`` for ``duration_s`` with ``connections`` keep-alive connections.

    ``tag`` (8 hex chars) prefixes every id of this run so runs never collide. Percentiles come
    from wrk's own latency histogram, printed by the Lua ``done()`` hook.
    """
    if not re.fullmatch(r"[0-9a-f]{8}", tag):
        raise ValueError("tag must be 8 lower-case hex digits")
    cmd = cpu_prefix(cpus) + [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(body.path),
        body.marker,
        tag,
        body.content_type,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + timeout_s + 30, check=False)
    match = _WRK_LINE.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(match.group(1))
    duration = data["duration_us"] / 1e6
    errors = {k: int(data["errors"][k]) for k in ("connect", "read", "write", "timeout")}
    lat = {k: round(v / 1000, 3) for k, v in data["latency_us"].items()}
    return WrkResult(
        url=re.sub(r"/hooks/([^/]+)/[^/?]+", r"/hooks/\1/***", url),
        duration_s=round(duration, 3),
        connections=connections,
        threads=threads,
        requests=int(data["requests"]),
        responses_2xx=int(data["ok"]),
        non_2xx=int(data["non2xx"]),
        socket_errors=errors,
        rps=round(data["requests"] / duration, 1),
        ok_rps=round(data["ok"] / duration, 1),
        latency_ms=lat,
        bytes_read=int(data["bytes"]),
        first_error=data.get("first_error") or None,
    )


def new_tag() -> str:
    return secrets.token_hex(4)


# --------------------------------------------------------------------------- results


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


@contextlib.contextmanager
def py_spy(pid: int, out: Path, *, duration_s: float, rate: int = 200, mode: str = "cpu") -> Iterator[None]:
    """Sample ``pid`` with py-spy into ``out`` (collapsed stacks) while the body runs.

    ``mode``: "cpu" samples every thread that is on a CPU (py-spy's default: threads waiting in
    epoll, on the GIL or in fsync are left out), "gil" only the thread holding the GIL, "wall"
    every thread including idle ones.
    """
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        sys.exit("bench: py-spy not found; `pip install py-spy` into the venv")
    cmd = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(int(duration_s)),
           "--format", "raw", "--output", str(out), "--nonblocking"]  # fmt: skip
    cmd += {"cpu": [], "gil": ["--gil"], "wall": ["--idle"]}[mode]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        try:
            _, err = proc.communicate(timeout=duration_s + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            print(f"bench: py-spy exited {proc.returncode}: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
