"""Ingest through the raw-MIME HTTP path and the SMTP path: throughput for a ~20 KB message, and
peak memory of the server while it takes one 25 MB message.

* **raw HTTP**: ``service.web.app:create_app`` under uvicorn (same flags as bench/ingest), wrk with 32
  keep-alive connections POSTing a ~20 KB ``message/rfc822`` OTP mail to
  ``/hooks/raw/<secret>?to=…``; ``bench/wrk_unique_post.lua`` makes the Message-ID (and the other
  ids in the mail) unique per request.
* **SMTP**: ``mailhook smtp`` as its own process; ``bench/_smtp_load.py`` keeps 32 aiosmtplib
  sessions open, each sending the same kind of mail in a loop (MAIL/RCPT/DATA per message).

Both servers run pinned to CPU 0, the load tools and Redis to CPU 1; the worker is not running
(jobs pile up in the queue). Runs alternate raw, SMTP, raw, SMTP, … and the median is reported.
Afterwards every accepted message is checked to be stored (one row per 2xx/250, plus up to one
in flight per connection for wrk) and queued.

Memory: a fresh server process per path, warmed with a few small messages, then ONE ~25 MB
message (base64 attachment, 76-character lines) is delivered, three times in a row. For each
delivery the peak RSS is reset (``echo 5 > /proc/PID/clear_refs``) and read back from VmHWM
afterwards (VmRSS is also sampled every 2 ms as a cross-check); the figure is peak − RSS just
before, and its ratio to the message size (target < 4×).

    bench/ingest_paths                     # 3 × (2 s warm-up + 10 s) per path + memory; ~2 min
    bench/ingest_paths --only smtp --repeat 1
    bench/ingest_paths --no-throughput     # memory only
    bench/ingest_paths --help
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import re
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _harness as h
from bench._otp_mail import DOMAIN, MARKER, RECIPIENT, big_message, otp_message, with_id
from bench.pipeline_bench import steal_seconds

TARGET_RSS_RATIO = 4.0
SENDER = "bounces@mail.accounts.example.com"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/ingest_paths", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (default 2)")
    p.add_argument("--repeat", type=int, default=3, help="alternating runs per path (default 3)")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections / sessions (default 32)")
    p.add_argument("--body-kb", type=float, default=20.0, help="message size for throughput, KB (default 20)")
    p.add_argument("--big-mb", type=float, default=25.0, help="message size for the memory runs, MiB (default 25)")
    p.add_argument("--big-repeat", type=int, default=3, help="big deliveries per path (default 3)")
    p.add_argument("--only", choices=["raw", "smtp"], help="one path only")
    p.add_argument("--no-throughput", dest="throughput", action="store_false", help="memory runs only")
    p.add_argument("--no-rss", dest="rss", action="store_false", help="throughput runs only")
    p.add_argument("--env", action="append", default=[], metavar="MAILHOOK_X=V", help="extra server env; repeatable")
    p.add_argument("--no-pin", dest="pin", action="store_false")
    p.add_argument("--server-cpus", default="0")
    p.add_argument("--load-cpus", default="1")
    p.add_argument("--profile", action="store_true", help="py-spy (on-CPU) each server under load after measuring")
    p.add_argument("--profile-seconds", type=float, default=10.0)
    p.add_argument(
        "--quiet-wait", type=float, default=120.0, help="wait up to N s for a quiet box before each run (default 120)"
    )
    p.add_argument("--quiet-threshold", type=float, default=15.0)
    p.add_argument("--no-json", dest="json", action="store_false")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    if not args.pin:
        args.server_cpus = args.load_cpus = None
    args.paths = [args.only] if args.only else ["raw", "smtp"]
    return args


# --------------------------------------------------------------------------- servers


def write_config(stack: h.MailhookStack, connections: int) -> None:
    """All load sessions come from 127.0.0.1, as from one sending MTA's pool: the per-IP session
    cap (default 20) must admit every one of them."""
    lines = stack.config_path.read_text().rstrip("\n").splitlines()
    lines += ["smtp:", f"  domains: [{DOMAIN}]", "  hostname: mx.bench.example.net"]
    lines += [f"  max_connections: {connections + 8}", f"  max_connections_per_ip: {connections + 8}"]
    stack.config_path.write_text("\n".join(lines) + "\n")


def _server_env(stack: h.MailhookStack, args: argparse.Namespace) -> dict[str, str]:
    return {**stack.env, **dict(item.split("=", 1) for item in args.env)}


def raw_server(stack: h.MailhookStack, args: argparse.Namespace, name: str) -> h.UvicornServer:
    return h.UvicornServer(
        name,
        "service.web.app:create_app",
        factory=True,
        env=_server_env(stack, args),
        cpus=args.server_cpus,
        ready_path="/readyz",
        log_path=stack.root / f"{name}.log",
    )


@dataclass
class SmtpServer(h.ServerProcess):
    """``mailhook smtp`` as its own process; ready once it greets with 220."""

    name: str
    env: dict[str, str]
    cpus: str | None
    log_path: Path
    port: int = field(default_factory=h.free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> SmtpServer:
        mailhook = Path(sys.executable).parent / "mailhook"
        base = [str(mailhook)] if mailhook.exists() else [sys.executable, "-m", "service"]
        cmd = h.cpu_prefix(self.cpus) + base + ["smtp", "--host", h.HOST, "--port", str(self.port)]
        env = {**os.environ, "PYTHONPATH": str(h.REPO), **self.env}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, cwd=h.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mailhook smtp exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection((h.HOST, self.port), timeout=1) as sock:
                if sock.recv(512).startswith(b"220"):
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("mailhook smtp did not answer 220 in time")

    def __enter__(self) -> SmtpServer:
        return self.start()


# --------------------------------------------------------------------------- throughput


_LINE = re.compile(r"^BENCH_JSON (\{.*\})$", re.MULTILINE)


def run_smtp_load(port: int, template: Path, tag: str, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    cmd = h.cpu_prefix(args.load_cpus) + [
        sys.executable, "-m", "bench._smtp_load", "--port", str(port), "--template", str(template),
        "--marker", MARKER, "--tag", tag, "--rcpt", RECIPIENT, "--sender", SENDER,
        "--connections", str(args.connections), "--duration", f"{duration:g}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(h.REPO)}
    out = subprocess.run(cmd, cwd=h.REPO, env=env, capture_output=True, text=True, timeout=duration + 120, check=False)
    match = _LINE.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"SMTP load failed ({out.returncode}):\n{out.stdout}\n{out.stderr[-3000:]}")
    return json.loads(match.group(1))


def measure(
    path: str, server: Any, target: Any, args: argparse.Namespace, known: list[int], template: Path
) -> dict[str, Any]:
    """Warm-up, then one measured run: accepted messages/s, latency, server CPU, other load."""
    if args.quiet_wait > 0:
        h.wait_for_quiet(args.quiet_threshold, args.quiet_wait)

    def load(tag: str, duration: float) -> dict[str, Any]:
        if path == "raw":
            body = h.BodyTemplate(template, MARKER, "message/rfc822")
            r = h.run_wrk(target, body, tag=tag, duration_s=duration, connections=args.connections, cpus=args.load_cpus)
            return {
                "ok": r.responses_2xx,
                "refused": r.non_2xx,
                "errors": sum(r.socket_errors.values()),
                "first_error": r.first_error,
                "ok_per_s": r.ok_rps,
                "latency_ms": r.latency_ms,
                "duration_s": r.duration_s,
            }
        return run_smtp_load(target, template, tag, args, duration)

    if args.warmup > 0:
        load(h.new_tag(), args.warmup)
    tag = h.new_tag()
    cpu, foreign = h.CpuMeter(server.pid).start(), h.ForeignLoad(known + [server.pid]).start()
    steal0, t0 = steal_seconds(), time.monotonic()
    result = load(tag, args.duration)
    used, other = cpu.stop(), foreign.stop()
    other["steal_pct"] = round(100 * (steal_seconds() - steal0) / (time.monotonic() - t0), 1)
    busy_s = used["total_pct"] / 100 * used["wall_s"]
    run = {"path": path, "tag": tag, **result, "server_cpu": used, **other}
    run["server_cpu_us_per_msg"] = round(1e6 * busy_s / result["ok"], 1) if result["ok"] else None
    lat = run["latency_ms"]
    print(
        f"  {path:<4} {run['ok_per_s']:7,.0f} msg/s  p50 {lat['p50']:7.2f} ms  p99 {lat['p99']:7.2f} ms  "
        f"refused {run['refused']}  errors {run['errors']}  server CPU {used['total_pct']:3.0f}% "
        f"({run['server_cpu_us_per_msg'] or 0:,.0f} µs/msg)  load tool {other['load_tool_pct']:3.0f}%  "
        f"other processes {other['foreign_pct']:3.0f}% (host steal {other['steal_pct']:3.0f}%)",
        flush=True,
    )
    return run


def integrity(stack: h.MailhookStack, runs: list[dict[str, Any]], connections: int) -> dict[str, Any]:
    per_path: dict[str, dict[str, int]] = {}
    ok = True
    for run in runs:
        provider = "raw" if run["path"] == "raw" else "smtp"
        stored = stack.count(
            "SELECT count(*) FROM message WHERE provider = ? AND message_id LIKE ?", (provider, f"%{run['tag']}%")
        )
        slack = connections if run["path"] == "raw" else 0  # wrk stops with requests in flight
        ok &= 0 <= stored - run["ok"] <= slack and run["refused"] == 0 and run["errors"] == 0
        agg = per_path.setdefault(run["path"], {"accepted": 0, "stored": 0})
        agg["accepted"] += run["ok"]
        agg["stored"] += stored
    total = stack.count("SELECT count(*) FROM message")
    queued = stack.queued_jobs()
    return {"per_path": per_path, "total_rows": total, "jobs_queued": queued, "ok": ok and total == queued}


# --------------------------------------------------------------------------- memory


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


class RssSampler(threading.Thread):
    """VmRSS every ``interval_s`` (a cross-check of VmHWM, and the fallback if clear_refs fails)."""

    def __init__(self, pid: int, interval_s: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.peak_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        path = Path(f"/proc/{self.pid}/status")
        while not self._halt.is_set():
            with contextlib.suppress(OSError, ValueError):
                for line in path.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        break
            time.sleep(self.interval_s)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_kb


def peak_rss(pid: int, deliver: Any, size: int) -> dict[str, Any]:
    """Run ``deliver()`` and report the server's peak RSS above what it held just before."""
    time.sleep(0.3)  # let the previous delivery's frees settle
    reset = True
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        reset = False
    before = _status_kb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    t0 = time.perf_counter()
    answer = deliver()
    elapsed = time.perf_counter() - t0
    sampled = sampler.stop()
    after = _status_kb(pid)
    peak_kb = after["VmHWM"] if reset else sampled
    delta_mb = (peak_kb - before["VmRSS"]) / 1024
    return {
        "answer": answer,
        "seconds": round(elapsed, 3),
        "rss_before_mb": round(before["VmRSS"] / 1024, 1),
        "peak_mb": round(peak_kb / 1024, 1),
        "sampled_peak_mb": round(sampled / 1024, 1),
        "rss_after_mb": round(after["VmRSS"] / 1024, 1),
        "delta_mb": round(delta_mb, 1),
        "ratio": round(delta_mb * 1024 * 1024 / size, 2),
        "hwm_reset": reset,
    }


def deliver_raw(port: int, path: str, body: bytes) -> str:
    conn = http.client.HTTPConnection(h.HOST, port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "message/rfc822"})
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        return f"{response.status} {text[:120]}"
    finally:
        conn.close()


def deliver_smtp(port: int, body: bytes) -> str:
    with smtplib.SMTP(h.HOST, port, timeout=120) as client:
        client.ehlo("big.bench.example.net")
        client.mail(SENDER, [f"size={len(body)}"] if client.has_extn("size") else [])
        client.rcpt(RECIPIENT)
        code, reply = client.data(body)
        return f"{code} {reply.decode(errors='replace')[:120]}"


def _memory_server(stack: h.MailhookStack, args: argparse.Namespace, path: str) -> tuple[Any, Any]:
    """A fresh, started server for ``path`` and a function delivering one message to it."""
    if path == "raw":
        raw = raw_server(stack, args, "raw-rss").start()
        url = stack.hook_path("raw") + "?to=" + urllib.parse.quote(RECIPIENT)
        return raw, lambda body: deliver_raw(raw.port, url, body)
    smtp = SmtpServer("smtp-rss", _server_env(stack, args), args.server_cpus, stack.root / "smtp-rss.log").start()
    return smtp, lambda body: deliver_smtp(smtp.port, body)


def memory_runs(stack: h.MailhookStack, args: argparse.Namespace, small: bytes) -> dict[str, Any]:
    big_template = big_message(int(args.big_mb * 1024 * 1024))
    out: dict[str, Any] = {}
    for path in args.paths:
        runs = []
        server, deliver = _memory_server(stack, args, path)
        try:
            for i in range(5):  # warm-up: imports, lazy state, DB/Redis connections
                deliver(with_id(small, f"{h.new_tag()}ffff{i:08x}"))
            for i in range(args.big_repeat):
                body = with_id(big_template, f"{h.new_tag()}eeee{i:08x}")
                result = peak_rss(server.pid, functools.partial(deliver, body), len(body))
                result["message_bytes"] = len(body)
                runs.append(result)
                print(
                    f"  {path:<4} {len(body) / 1e6:.1f} MB #{i + 1}: {result['answer'][:3]}  "
                    f"RSS before {result['rss_before_mb']:6.1f} MB, "
                    f"peak {result['peak_mb']:6.1f} MB (sampled {result['sampled_peak_mb']:6.1f}) → "
                    f"+{result['delta_mb']:5.1f} MB = {result['ratio']:.2f}× the message, {result['seconds']:.2f} s",
                    flush=True,
                )
        finally:
            server.stop()
        stored = stack.count(
            "SELECT count(*) FROM message WHERE provider = ? AND raw_mime_size >= ?",
            ("raw" if path == "raw" else "smtp", len(big_template) - 1024),
        )
        out[path] = {
            "runs": runs,
            "message_bytes": runs[0]["message_bytes"] if runs else 0,
            "max_delta_mb": max(r["delta_mb"] for r in runs),
            "max_ratio": max(r["ratio"] for r in runs),
            "first_ratio": runs[0]["ratio"],
            "stored_big_rows": stored,
            "ok": stored == len(runs) and all(r["answer"].startswith(("200", "250")) for r in runs),
        }
    return out


# --------------------------------------------------------------------------- report


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["ok_per_s"])[len(runs) // 2]


def report(results: dict[str, Any]) -> None:
    env, args = results["environment"], results["args"]
    print()
    print("== ingest paths benchmark (raw MIME over HTTP, SMTP) ==")
    print(
        f"environment: {env['cores']} cores ({env['cpu']}), Python {env['python']}, uvicorn {env['uvicorn']} "
        f"(loop={env['uvicorn_loop']}, http={env['uvicorn_http']}), aiosmtpd {env.get('aiosmtpd')}, "
        f"SQLite {env['sqlite']}, {env['wrk']}; pinning: {env['pinning']}; fsync p50 {env['fsync_ms']['p50']} ms"
    )
    tp = results.get("throughput") or {}
    if tp:
        print(
            f"throughput: {results['body_bytes']:,} B OTP mail, unique ids, {args['connections']} connections, "
            f"median of {args['repeat']} × {args['duration']:g} s, worker stopped"
        )
        print(f"{'path':<6} | {'msg/s':>7} | {'p50 ms':>7} | {'p99 ms':>8} | {'server CPU':>10} | "
              f"{'CPU µs/msg':>10} | {'other procs (steal)':>19} | per-run msg/s")  # fmt: skip
        for path, data in tp.items():
            m = data["median"]
            per = ", ".join(f"{r['ok_per_s']:,.0f}" for r in data["runs"])
            lat = m["latency_ms"]
            other = max(r["foreign_pct"] for r in data["runs"])
            steal = max(r.get("steal_pct", 0.0) for r in data["runs"])
            print(
                f"{path:<6} | {m['ok_per_s']:>7,.0f} | {lat['p50']:>7.2f} | {lat['p99']:>8.2f} | "
                f"{m['server_cpu']['total_pct']:>9.0f}% | {m['server_cpu_us_per_msg'] or 0:>10,.0f} | "
                f"{other:>13.0f}% ({steal:3.0f}%) | {per}"
            )
        integ = results.get("integrity")
        if integ:
            parts = "; ".join(
                f"{p}: {d['stored']:,} stored for {d['accepted']:,} accepted" for p, d in integ["per_path"].items()
            )
            print(f"stored: {parts}; {integ['total_rows']:,} rows in all, {integ['jobs_queued']:,} jobs queued → "
                  f"{'OK' if integ['ok'] else 'MISMATCH'}")  # fmt: skip
    mem = results.get("memory") or {}
    if mem:
        print()
        size_mb = next(iter(mem.values()))["message_bytes"] / 1e6
        print(f"memory: one {size_mb:.1f} MB message (base64 attachment), fresh server per path, "
              f"{args['big_repeat']} deliveries; peak RSS − RSS before (VmHWM after clear_refs)")  # fmt: skip
        print(f"{'path':<6} | {'first ×':>7} | {'max +MB':>7} | {'max ×':>6} | {'target < 4×':>11} | stored")
        for path, m in mem.items():
            verdict = "MET" if m["max_ratio"] < TARGET_RSS_RATIO else "NOT MET"
            print(
                f"{path:<6} | {m['first_ratio']:>7.2f} | {m['max_delta_mb']:>7.1f} | {m['max_ratio']:>6.2f} | "
                f"{verdict:>11} | {m['stored_big_rows']}/{len(m['runs'])} {'OK' if m['ok'] else 'FAILED'}"
            )
    for path, prof in (results.get("profile") or {}).items():
        print(f"\nprofile {path} (threads on CPU, {prof['samples']:,} samples, {prof['file']}):")
        for label, pct in prof["top_inclusive"][:25]:
            print(f"  {pct:5.1f}%  {label}")


def profile_path(path: str, server: Any, target: Any, args: argparse.Namespace, template: Path) -> dict[str, Any]:
    from collections import Counter

    raw = h.RESULTS / f"ingest-paths-profile-{path}.txt"
    h.RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"  profiling {path} {args.profile_seconds:g} s with py-spy → {raw.relative_to(h.REPO)}", flush=True)
    with h.py_spy(server.pid, raw, duration_s=args.profile_seconds, mode="cpu"):
        if path == "raw":
            body = h.BodyTemplate(template, MARKER, "message/rfc822")
            h.run_wrk(target, body, tag=h.new_tag(), duration_s=args.profile_seconds,
                      connections=args.connections, cpus=args.load_cpus)  # fmt: skip
        else:
            run_smtp_load(target, template, h.new_tag(), args, args.profile_seconds)
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            if "/site-packages/" not in frame:
                inclusive[frame.split(" (")[0] + " (" + frame.split(" (")[-1]] += int(count)
            else:
                inclusive[frame] += int(count)
    return {
        "file": str(raw.relative_to(h.REPO)),
        "samples": total,
        "top_inclusive": [(k, round(100 * v / max(1, total), 1)) for k, v in inclusive.most_common(40)],
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if "raw" in args.paths and args.throughput:
        h.require_wrk()
    results: dict[str, Any] = {"benchmark": "ingest_paths", "args": {k: v for k, v in vars(args).items()}}
    busy = h.idle_check()
    if busy > 20:
        print(f"bench: warning: other processes use {busy:.0f}% of a core right now", file=sys.stderr)
    with h.MailhookStack(sources={"raw": "raw"}, redis_cpus=args.load_cpus, keep=args.keep) as stack:
        write_config(stack, args.connections)
        env = h.environment(stack.root)
        env["aiosmtpd"] = h._version("aiosmtpd")
        env["aiosmtplib"] = h._version("aiosmtplib")
        env["pinning"] = (
            f"servers on CPU {args.server_cpus}; wrk / SMTP load, Redis on CPU {args.load_cpus}" if args.pin else "none"
        )
        env["other_processes_pct_at_start"] = busy
        results["environment"] = env
        small = otp_message(int(args.body_kb * 1024))
        template = stack.root / "otp.eml"
        template.write_bytes(small)
        results["body_bytes"] = len(small) + small.count(MARKER.encode()) * (20 - len(MARKER))
        if args.throughput:
            _throughput(stack, args, template, results)
        if args.rss:
            print("memory runs (fresh server per path):", flush=True)
            results["memory"] = memory_runs(stack, args, small)
    report(results)
    if args.json:
        out = h.write_results("ingest-paths", results)
        print(f"results written to {out.relative_to(h.REPO)}")
    ok = (results.get("integrity") or {"ok": True})["ok"] and all(
        m["ok"] for m in (results.get("memory") or {}).values()
    )
    return 0 if ok else 1


def _throughput(stack: h.MailhookStack, args: argparse.Namespace, template: Path, results: dict[str, Any]) -> None:
    with contextlib.ExitStack() as servers:
        targets: dict[str, tuple[Any, Any]] = {}
        if "raw" in args.paths:
            raw = servers.enter_context(raw_server(stack, args, "raw"))
            url = raw.base_url + stack.hook_path("raw") + "?to=" + urllib.parse.quote(RECIPIENT)
            targets["raw"] = (raw, url)
        if "smtp" in args.paths:
            smtp = SmtpServer("smtp", _server_env(stack, args), args.server_cpus, stack.root / "smtp.log")
            servers.enter_context(smtp)
            targets["smtp"] = (smtp, smtp.port)
        known = [s.pid for s, _ in targets.values()] + [stack.redis.process.pid]
        print(
            f"ingest paths: {args.repeat} × ({args.warmup:g} s warm-up + {args.duration:g} s) per path, "
            f"{args.connections} connections, {results['body_bytes']:,} B messages; "
            f"{results['environment']['pinning']}",
            flush=True,
        )
        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in targets}
        for _ in range(args.repeat):
            for path, (server, target) in targets.items():
                runs[path].append(measure(path, server, target, args, known, template))
        if args.profile:
            results["profile"] = {p: profile_path(p, s, t, args, template) for p, (s, t) in targets.items()}
        for server, _ in targets.values():
            server.stop()  # lifespan / signal shutdown: in-flight commits and the enqueuer flush
    results["throughput"] = {p: {"runs": rs, "median": _median_run(rs)} for p, rs in runs.items()}
    all_runs = [r for rs in runs.values() for r in rs]
    results["integrity"] = integrity(stack, all_runs, args.connections)
    results["throughput_median_ok_per_s"] = {p: statistics.median(r["ok_per_s"] for r in rs) for p, rs in runs.items()}


if __name__ == "__main__":
    sys.exit(main())
