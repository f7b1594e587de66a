"""Ingest throughput: Mailhook's ImprovMX webhook endpoint against a bare Starlette endpoint and
the storage floor (the least work any durable design must do, ``bench/_floor_app.py``).

All run as one uvicorn process with identical flags, driven by wrk at the same concurrency with
~10 KB ImprovMX JSON bodies whose message-id is unique per request (none is a duplicate). The
worker is not running: only ingest (verify → parse → group commit → batched enqueue) is measured.
Targets are measured alternately (bare, floor, mailhook, bare, …) and the median is reported,
so a slow spell on a shared machine hits all of them. After the run every accepted Mailhook
delivery is checked to be in the database and queued in Redis.

    bench/ingest                      # defaults: 32 connections, 3 × (2 s warm-up + 10 s) per target
    bench/ingest --profile            # plus py-spy runs on the Mailhook process (not measured)
    bench/ingest --instrument         # plus group-commit batch sizes and event-loop lag
    bench/ingest --help
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
from typing import Any

from bench import _harness as h
from bench._profile import summarize

FIXTURE = h.REPO / "tests" / "fixtures" / "improvmx" / "otp.json"
MARKER = "@@BENCH_ID@@"

TARGETS = ("bare", "floor", "mailhook")

# The target.
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0

_PARAGRAPH = (
    "Hi there,\n\nThanks for signing up for Widget Co. Your account is almost ready: enter the code "
    "below on the confirmation page within 15 minutes. If you did not ask for this, ignore this email "
    "and nothing will happen. Questions? Reply to this message or visit https://example.net/help.\n"
)


def improvmx_body(target_bytes: int, *, unique_attachments: bool) -> bytes:
    """The ImprovMX fixture with text/html padded so the whole body is about ``target_bytes``;
    ``MARKER`` stands where the per-request id goes (the message-id, and attachments if asked)."""
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    data["message-id"] = f"{MARKER}@bench.example.net"
    if unique_attachments:
        # A 20-hex-digit prefix keeps the base64 valid and makes every attachment's bytes new.
        for item in data.get("attachments", []) + data.get("inlines", []):
            item["content"] = MARKER + item["content"]
    room = max(0, target_bytes - len(json.dumps(data).encode()))
    text_room, html_room = int(room * 0.4), room - int(room * 0.4)
    text = (_PARAGRAPH * (text_room // len(_PARAGRAPH) + 1))[:text_room]
    html_para = "<p>" + _PARAGRAPH.replace("\n", "<br>") + "</p>"
    html = (html_para * (html_room // len(html_para) + 1))[: max(0, html_room - 20)]
    data["text"] = data["text"] + text[: max(0, len(text) - len(data["text"]))]
    data["html"] = data["html"] + html
    return json.dumps(data).encode()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/ingest", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each measured run (default 2)")
    p.add_argument(
        "--repeat", type=int, default=3, help="alternating runs per target; medians are reported (default 3)"
    )
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--body-kb", type=float, default=10.0, help="approximate body size in KB (default 10)")
    p.add_argument(
        "--unique-attachments",
        action="store_true",
        help="make attachment bytes unique per request too (each costs a blob write + fsync)",
    )
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin: by default servers get CPU 0, wrk and Redis get CPU 1",
    )
    p.add_argument("--server-cpus", default="0", help="CPU list for the servers when pinning (default 0)")
    p.add_argument("--load-cpus", default="1", help="CPU list for wrk and Redis when pinning (default 1)")
    p.add_argument("--only", choices=TARGETS, help="run one target only")
    p.add_argument("--no-floor", dest="floor", action="store_false", help="skip the storage floor target")
    p.add_argument(
        "--bare-app",
        default="bench._bare_app:app",
        help="ASGI app (module:attr) of the bare target (default %(default)s)",
    )
    p.add_argument(
        "--floor-app",
        default="bench._floor_app:app",
        help="ASGI app of the floor target (default %(default)s; FLOOR_MODE=nosync|nostore via --floor-env)",
    )
    p.add_argument(
        "--floor-env", action="append", default=[], metavar="X=V", help="extra environment for the floor process"
    )
    p.add_argument(
        "--instrument",
        action="store_true",
        help="serve Mailhook through bench/_instrumented.py: batch sizes, store_batch time, loop lag",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="MAILHOOK_X=V",
        help="extra environment for the Mailhook process (e.g. MAILHOOK_COMMIT_WINDOW_MS=2); repeatable",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, run Mailhook under py-spy (wall clock, then GIL holders) and summarise",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each run, wait up to this many seconds for other processes to go quiet (default 120; 0: off)",
    )
    p.add_argument(
        "--quiet-threshold", type=float, default=15.0, help="'quiet' = other processes under this %% of a core"
    )
    p.add_argument(
        "--mailhook-uvicorn-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra uvicorn argument for the Mailhook server only, e.g. --mailhook-uvicorn-arg=--access-log",
    )
    p.add_argument("--profile-seconds", type=float, default=10.0)
    p.add_argument("--no-json", dest="json", action="store_false", help="do not write bench/results/*.json")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (DB, Redis data, server logs)")
    args = p.parse_args(argv)
    if not args.pin:
        args.server_cpus = args.load_cpus = None
    return args


def _measure(
    name: str,
    server: h.UvicornServer,
    url: str,
    body: h.BodyTemplate,
    args: argparse.Namespace,
    known_pids: list[int],
    *,
    instrumented: bool = False,
) -> dict[str, Any]:
    """Warm up, then one measured run; wrk's figures plus server CPU and other processes' load."""
    common = {"connections": args.connections, "threads": args.threads, "cpus": args.load_cpus}
    if args.quiet_wait > 0:
        h.wait_for_quiet(args.quiet_threshold, args.quiet_wait)
    if args.warmup > 0:
        h.run_wrk(url, body, tag=h.new_tag(), duration_s=args.warmup, **common)
    if instrumented:
        h.http_json(server.base_url + "/_bench/reset", method="POST")
    tag = h.new_tag()
    cpu, load = h.CpuMeter(server.pid).start(), h.ForeignLoad(known_pids).start()
    result = h.run_wrk(url, body, tag=tag, duration_s=args.duration, **common)
    run: dict[str, Any] = {**result.to_dict(), "tag": tag, "server_cpu": cpu.stop(), **load.stop()}
    busy_s = run["server_cpu"]["total_pct"] / 100 * run["server_cpu"]["wall_s"]
    run["server_cpu_us_per_ok"] = round(1e6 * busy_s / result.responses_2xx, 1) if result.responses_2xx else None
    if instrumented:
        run["instrumented"] = h.http_json(server.base_url + "/_bench/stats")
    print(
        f"  {name:<8} {result.ok_rps:8,.0f} ok/s  p50 {result.latency_ms['p50']:6.1f} ms  "
        f"p99 {result.latency_ms['p99']:6.1f} ms  non-2xx {result.non_2xx}  "
        f"server CPU {run['server_cpu']['total_pct']:3.0f}%  wrk CPU {run['load_tool_pct']:3.0f}%  "
        f"other processes {run['foreign_pct']:3.0f}%",
        flush=True,
    )
    return run


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (its latencies belong to the same run)."""
    ordered = sorted(runs, key=lambda r: r["ok_rps"])
    return ordered[len(ordered) // 2]


def _integrity(stack: h.MailhookStack, runs: list[dict[str, Any]], connections: int) -> dict[str, Any]:
    """Rows per measured run vs. what wrk saw accepted. wrk stops with up to ``connections``
    requests in flight; the server still stores those, so stored may exceed accepted by that much."""
    accepted = stored = raws = 0
    per_run_ok = True
    for run in runs:
        like = (f"<{run['tag']}%",)
        n = stack.count("SELECT count(*) FROM message WHERE message_id LIKE ?", like)
        r = stack.count(
            "SELECT count(*) FROM messageraw r JOIN message m ON m.id = r.message_id WHERE m.message_id LIKE ?", like
        )
        per_run_ok &= 0 <= n - run["responses_2xx"] <= connections and r == n
        accepted, stored, raws = accepted + run["responses_2xx"], stored + n, raws + r
    total_rows = stack.count("SELECT count(*) FROM message")
    queued = stack.queued_jobs()
    clean = all(r["non_2xx"] == 0 and not any(r["socket_errors"].values()) for r in runs)
    return {
        "accepted_by_wrk": accepted,
        "rows_stored": stored,
        "raw_rows_stored": raws,
        "stored_minus_accepted": stored - accepted,
        "total_rows_all_runs": total_rows,
        "jobs_queued_all_runs": queued,
        "ok": clean and per_run_ok and queued == total_rows,
    }


def _wanted(args: argparse.Namespace, target: str) -> bool:
    if args.only:
        return args.only == target
    return args.floor or target != "floor"


def _servers(
    args: argparse.Namespace, stack: h.MailhookStack, servers: contextlib.ExitStack, results: dict[str, Any]
) -> dict[str, h.UvicornServer]:
    """Start the targets asked for (all pinned alike); they stop when ``servers`` closes."""
    started: dict[str, h.UvicornServer] = {}
    if _wanted(args, "bare"):
        started["bare"] = h.UvicornServer(
            "bare", args.bare_app, env=dict(stack.env), cpus=args.server_cpus, log_path=stack.root / "bare.log"
        )
    if _wanted(args, "floor"):
        # The floor keeps its own SQLite file in the data dir and enqueues to Redis queue "floor".
        floor_env = {**stack.env, **dict(item.split("=", 1) for item in args.floor_env)}
        started["floor"] = h.UvicornServer(
            "floor", args.floor_app, env=floor_env, cpus=args.server_cpus, log_path=stack.root / "floor.log"
        )
    if _wanted(args, "mailhook"):
        extra_env = dict(item.split("=", 1) for item in args.env)
        results["mailhook_env"] = {k: v for k, v in {**os.environ, **extra_env}.items() if k.startswith("MAILHOOK_")}
        started["mailhook"] = h.UvicornServer(
            "mailhook",
            "bench._instrumented:create_app" if args.instrument else "service.web.app:create_app",
            factory=True,
            env={**stack.env, **extra_env},
            cpus=args.server_cpus,
            ready_path="/readyz",
            extra_args=list(args.mailhook_uvicorn_arg),
            log_path=stack.root / "mailhook.log",
        )
    for server in started.values():
        servers.enter_context(server)
    return started


def _finish_mailhook(
    args: argparse.Namespace, stack: h.MailhookStack, mailhook: h.UvicornServer, body: h.BodyTemplate, results: dict
) -> None:
    """Optional profile, then a clean stop (lifespan shutdown flushes commits and the enqueuer) and
    the stored-rows check."""
    if args.profile:
        results["profile"] = _profile(mailhook, mailhook.base_url + stack.hook_path("improvmx"), body, args)
    results["mailhook_exit_code"] = mailhook.stop()
    if "MAILHOOK_BENCH_STORE" in results["mailhook_env"]:
        print("note: MAILHOOK_BENCH_STORE replaced storage; nothing was stored, integrity not checked")
    else:
        results["integrity"] = _integrity(stack, results["runs"]["mailhook"], args.connections)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    h.require_wrk()
    results: dict[str, Any] = {"benchmark": "ingest", "args": vars(args)}
    busy_before = h.idle_check()
    if busy_before > 20:
        print(f"bench: warning: other processes use {busy_before:.0f}% of a core right now", file=sys.stderr)
    with h.MailhookStack(redis_cpus=args.load_cpus, keep=args.keep) as stack, contextlib.ExitStack() as servers:
        env = h.environment(stack.root)
        env["pinning"] = (
            f"servers on CPU {args.server_cpus}; wrk + Redis on CPU {args.load_cpus}" if args.pin else "none"
        )
        env["other_processes_pct_at_start"] = busy_before
        results["environment"] = env
        raw_body = improvmx_body(int(args.body_kb * 1024), unique_attachments=args.unique_attachments)
        body = h.BodyTemplate.write(stack.root, "improvmx.json", raw_body, MARKER, "application/json")
        results["body_bytes"] = len(raw_body) + (20 - len(MARKER)) * raw_body.count(MARKER.encode())
        targets = _servers(args, stack, servers, results)
        known = [s.pid for s in targets.values()] + [stack.redis.process.pid]
        print(
            f"ingest bench: {args.repeat} × ({args.warmup:g} s warm-up + {args.duration:g} s) per target, "
            f"{args.connections} connections, {results['body_bytes']:,} B bodies, {env['pinning']}",
            flush=True,
        )
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for _ in range(args.repeat):
            for name, server in targets.items():
                # Only Mailhook checks the secret; the others take any, on the same route shape.
                path = stack.hook_path("improvmx") if name == "mailhook" else "/hooks/improvmx/x"
                instrumented = args.instrument and name == "mailhook"
                runs[name].append(
                    _measure(name, server, server.base_url + path, body, args, known, instrumented=instrumented)
                )
        for name in ("bare", "floor"):
            if name in targets:
                targets[name].stop()
        results["runs"] = runs
        results.update({target: _median_run(target_runs) for target, target_runs in runs.items()})
        if "mailhook" in targets:
            _finish_mailhook(args, stack, targets["mailhook"], body, results)
        _compare(results)
        _attribute(results)
        _report(results)
        if args.json:
            written = h.write_results("ingest", results)
            print(f"results written to {written.relative_to(h.REPO)}")
    integrity = results.get("integrity")
    return 0 if integrity is None or integrity["ok"] else 1


def _profile(server: h.UvicornServer, url: str, body: h.BodyTemplate, args: argparse.Namespace) -> dict[str, Any]:
    """py-spy on the loaded Mailhook process: on-CPU samples of all threads, then GIL holders.

    Bucket shares of the on-CPU profile times the server CPU per delivery measured in the same run
    give µs per delivery per bucket. py-spy samples without pausing, costing a few % throughput.
    """
    out: dict[str, Any] = {}
    h.RESULTS.mkdir(parents=True, exist_ok=True)
    for mode in ("cpu", "gil"):
        raw = h.RESULTS / f"ingest-profile-{mode}.txt"
        print(f"  profiling ({mode}) {args.profile_seconds:g} s with py-spy → {raw.relative_to(h.REPO)}", flush=True)
        if args.quiet_wait > 0:
            h.wait_for_quiet(args.quiet_threshold, args.quiet_wait)
        cpu = h.CpuMeter(server.pid).start()
        with h.py_spy(server.pid, raw, duration_s=args.profile_seconds, mode=mode):
            r = h.run_wrk(
                url,
                body,
                tag=h.new_tag(),
                duration_s=args.profile_seconds,
                connections=args.connections,
                threads=args.threads,
                cpus=args.load_cpus,
            )
        used = cpu.stop()
        us_per_ok = 1e6 * used["total_pct"] / 100 * used["wall_s"] / max(1, r.responses_2xx)
        print(f"    under py-spy: {r.ok_rps:,.0f} ok/s, non-2xx {r.non_2xx}, server CPU {us_per_ok:.0f} µs/delivery")
        summary = summarize(raw, by_thread=True)
        out[mode] = {"file": str(raw.relative_to(h.REPO)), "ok_rps": r.ok_rps, "server_cpu": used,
                     "cpu_us_per_delivery": round(us_per_ok), **summary}  # fmt: skip
    return out


def _attribute(results: dict[str, Any]) -> None:
    """µs of server CPU per delivery per bucket: each thread's bucket shares (active samples) times
    that thread's CPU per delivery in the median *unprofiled* run (py-spy itself inflates CPU)."""
    prof, run = (results.get("profile") or {}).get("cpu"), results.get("mailhook")
    if not prof or not run or not run.get("responses_2xx"):
        return
    cpu = run["server_cpu"]
    per = 1e6 * cpu["wall_s"] / 100 / run["responses_2xx"]
    main_us, pool_us = cpu["main_thread_pct"] * per, cpu["other_threads_pct"] * per
    us: dict[str, float] = {}
    for shares, total in ((prof["main_thread"], main_us), (prof["pool_threads"], pool_us)):
        busy = [(label, pct) for label, pct in shares if not label.startswith("idle:")]
        busy_pct = sum(pct for _, pct in busy) or 1.0
        for label, pct in busy:
            us[label] = us.get(label, 0.0) + pct / busy_pct * total
    prof["us_per_delivery"] = sorted(((k, round(v)) for k, v in us.items()), key=lambda kv: -kv[1])
    prof["attributed_from"] = {"main_thread_us": round(main_us), "other_threads_us": round(pool_us)}


def _fmt_lat(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return f"p50 {lat['p50']:6.2f} ms  p99 {lat['p99']:7.2f} ms"


def _fmt_cpu(r: dict[str, Any]) -> str:
    cpu = r.get("server_cpu") or {}
    return f"server CPU {cpu.get('total_pct', 0):3.0f}% (main thread {cpu.get('main_thread_pct', 0):3.0f}%)"


def _compare(results: dict[str, Any]) -> None:
    """Ratios from the medians of the alternating runs (and per adjacent pair), into ``results``:
    mailhook/bare (the issue's target), floor/bare (the best a durable design reaches here) and
    mailhook/floor (how close Mailhook is to that best)."""
    runs = results.get("runs", {})
    rps = {name: statistics.median(r["ok_rps"] for r in target_runs) for name, target_runs in runs.items()}
    cost = {
        name: statistics.median(r["server_cpu_us_per_ok"] for r in target_runs) for name, target_runs in runs.items()
    }
    results["ratios"] = {}
    for num, den in (("mailhook", "bare"), ("floor", "bare"), ("mailhook", "floor")):
        if num in rps and den in rps and rps[den]:
            pairs = zip(runs[den], runs[num], strict=True)
            results["ratios"][f"{num}/{den}"] = {
                "throughput": round(rps[num] / rps[den], 3),
                "per_run": [round(n["ok_rps"] / d["ok_rps"], 3) if d["ok_rps"] else 0.0 for d, n in pairs],
                "cpu_per_request": round(cost[den] / cost[num], 3) if cost[num] else None,
            }
    results["server_cpu_us_per_request"] = cost
    main = results["ratios"].get("mailhook/bare")
    if main:
        results["ratio"] = main["throughput"]
        results["target_met"] = (
            main["throughput"] >= TARGET_RATIO and results["mailhook"]["latency_ms"]["p99"] < TARGET_P99_MS
        )


def _report_targets(results: dict[str, Any]) -> None:
    bare, floor, mh = results.get("bare"), results.get("floor"), results.get("mailhook")
    if bare:
        print(
            f"bare endpoint: {bare['rps']:8,.0f} req/s         {_fmt_lat(bare)}  non-2xx {bare['non_2xx']}  "
            f"{_fmt_cpu(bare)}"
        )
    if floor:
        print(
            f"storage floor: {floor['ok_rps']:8,.0f} deliveries/s  {_fmt_lat(floor)}  non-2xx {floor['non_2xx']}  "
            f"{_fmt_cpu(floor)}"
        )
    if not mh:
        return
    print(f"mailhook:      {mh['ok_rps']:8,.0f} deliveries/s  {_fmt_lat(mh)}  non-2xx {mh['non_2xx']}  {_fmt_cpu(mh)}")
    errs = {k: v for k, v in mh["socket_errors"].items() if v}
    if errs or mh["first_error"]:
        print(f"               socket errors {errs or 'none'}; first error: {mh['first_error']}")
    inst = mh.get("instrumented")
    if inst:
        b, s, lag = inst["batch_size"], inst["store_batch_ms"], inst["loop_lag_ms"]
        print(
            f"               group commit: {inst['commits_per_s']}/s, batch mean {b.get('mean')} "
            f"p50 {b.get('p50')} max {b.get('max')}; store_batch p50 {s.get('p50')} ms p99 {s.get('p99')} ms; "
            f"event-loop lag p50 {lag.get('p50')} ms p99 {lag.get('p99')} ms max {lag.get('max')} ms"
        )
        gcs = inst.get("gc_pause_ms", {})
        print(
            "               GC pauses: "
            + "; ".join(f"{g} n={d.get('n', 0)} max {d.get('max', 0)} ms" for g, d in gcs.items())
            + f"; {inst.get('gc_objects_tracked', 0):,} objects tracked, {inst.get('gc_frozen', 0):,} frozen"
        )


def _report_summary(results: dict[str, Any]) -> None:
    for name, ratio in results.get("ratios", {}).items():
        per_run = ", ".join(f"{r:.3f}" for r in ratio["per_run"])
        line = f"ratio {name + ':':<15} {ratio['throughput']:.3f} (per run: {per_run})"
        if name == "mailhook/bare":
            verdict = "MET" if results["target_met"] else "NOT MET"
            line += f"   target ≥ {TARGET_RATIO} with p99 < {TARGET_P99_MS:g} ms: {verdict}"
        print(line)
    cost = results.get("server_cpu_us_per_request", {})
    if cost:
        each = ", ".join(f"{name} {us:.0f} µs" for name, us in cost.items() if us is not None)
        cpu_ratios = ", ".join(
            f"{name} {r['cpu_per_request']:.3f}"
            for name, r in results.get("ratios", {}).items()
            if r["cpu_per_request"]
        )
        print(
            f"server CPU per request: {each}"
            + (
                f" (ratios {cpu_ratios}: the throughput ratios if all were CPU-bound; steadier on a busy box)"
                if cpu_ratios
                else ""
            )
        )
    noisy = [r["foreign_pct"] for rs in results.get("runs", {}).values() for r in rs]
    if noisy and max(noisy) > 20:
        print(f"note: other processes used up to {max(noisy):.0f}% of a core during runs; figures are noisy")
    integ = results.get("integrity")
    if integ:
        print(
            f"stored: {integ['rows_stored']:,} rows (+{integ['raw_rows_stored']:,} raw) for "
            f"{integ['accepted_by_wrk']:,} deliveries wrk saw accepted in the measured runs "
            f"(+{integ['stored_minus_accepted']} in flight when wrk stopped, ≤ connections per run); "
            f"all runs incl. warm-up: {integ['total_rows_all_runs']:,} rows, {integ['jobs_queued_all_runs']:,} "
            f"jobs queued → {'OK' if integ['ok'] else 'MISMATCH'}"
        )


def _report(results: dict[str, Any]) -> None:
    env, args = results["environment"], results["args"]
    extra = " ".join(args.get("mailhook_uvicorn_arg") or [])
    print()
    print("== ingest benchmark ==")
    print(
        f"environment: {env['cores']} cores ({env['cpu']}), Python {env['python']}, uvicorn {env['uvicorn']} "
        f"(loop={env['uvicorn_loop']}, http={env['uvicorn_http']}, 1 process, no access log"
        f"{'; mailhook also ' + extra if extra else ''}), SQLite {env['sqlite']}, {env['wrk']}"
    )
    print(
        f"load: {args['connections']} connections, {results['body_bytes']:,} B ImprovMX JSON, unique message-id; "
        f"median of {args['repeat']} × {args['duration']:g} s runs; pinning: {env['pinning']}; "
        f"fsync p50 {env['fsync_ms']['p50']} ms"
    )
    git = env.get("git") or {}
    dirty = f" + local changes in {', '.join(git['dirty'])}" if git.get("dirty") else ""
    print(f"code: commit {git.get('commit')}{dirty}")
    _report_targets(results)
    _report_summary(results)
    for mode, data in (results.get("profile") or {}).items():
        _report_profile(mode, data)


def _report_profile(mode: str, data: dict[str, Any]) -> None:
    if mode == "cpu" and "us_per_delivery" in data:
        src = data["attributed_from"]
        print(
            f"\nprofile: active threads (on CPU or in disk I/O), {data['samples']:,} samples, {data['file']}\n"
            f"  µs of server CPU per delivery in the measured runs (main thread {src['main_thread_us']} µs + "
            f"other threads {src['other_threads_us']} µs), split by each thread's profile shares:"
        )
        for label, us in data["us_per_delivery"]:
            if us >= 3:
                print(f"  {us:5d} µs  {label}")
        return
    print(f"\nprofile: GIL holder only ({data['samples']:,} samples, {data['file']}):")
    for label, pct in data["categories"]:
        if pct >= 0.5:
            print(f"  {pct:5.1f}%  {label}")


if __name__ == "__main__":
    sys.exit(main())
