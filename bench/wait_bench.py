"""bench/wait: how fast a waiting test hears about its mail.

200 concurrent ``GET /api/v1/wait`` requests on distinct addresses (``bench+w0@…`` …) while
deliveries arrive at 100/s through the ImprovMX hook, each to one waiter in turn; a waiter that is
answered waits again from the cursor it got. Measured per delivery: time from the delivery's
200 (the client has read it) to its waiter's answer (the client has read that). An answer read
before the delivery's own 200 counts as 0 ms (the publish can overtake the response).

Run with 1 web process and with 2 (two uvicorn processes on one SQLite file and one Redis, as
behind a load balancer; waiters and deliveries alternate between them, so half the deliveries
land on the process that does not hold their waiter). Target: p99 < 100 ms.

    bench/wait                         # 1 and 2 processes, 10 s of deliveries each
    bench/wait --duration 20 --waiters 200 --rate 100 --processes 2
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import _harness as h
from bench.ingest_bench import FIXTURE
from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import Scope, create_token

TARGET_P99_MS = 100.0


@dataclass
class Run:
    delivered: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    delivery_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: bool = False


def _body(template: dict[str, Any], to: str) -> bytes:
    data = dict(template)
    data["headers"] = {**template["headers"], "Delivered-To": to}
    data["to"] = [{"name": None, "email": to}]
    data["message-id"] = f"{uuid.uuid4()}@bench.example.net"
    return json.dumps(data).encode()


async def _waiter(client: httpx.AsyncClient, address: str, cursor: str, run: Run) -> None:
    while not run.stop:
        try:
            response = await client.get("/api/v1/wait", params={"to": address, "since": cursor, "timeout": 60})
        except httpx.HTTPError as exc:
            run.errors.append(f"wait: {type(exc).__name__}")
            return
        now = time.perf_counter()
        if response.status_code == 408:
            continue
        if response.status_code != 200:
            run.errors.append(f"wait: {response.status_code} {response.text[:100]}")
            return
        answer = response.json()
        run.answered[answer["message"]["id"]] = now
        cursor = answer["cursor"]


async def _deliver(client: httpx.AsyncClient, path: str, body: bytes, run: Run) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(path, content=body)
    except httpx.HTTPError as exc:
        run.errors.append(f"deliver: {type(exc).__name__}")
        return
    now = time.perf_counter()
    if response.status_code != 200:
        run.errors.append(f"deliver: {response.status_code}")
        return
    run.delivered[response.json()["messages"][0]["id"]] = now
    run.delivery_ms.append((now - started) * 1000)


async def _load(bases: list[str], hook: str, token: str, args: argparse.Namespace) -> Run:
    run = Run()
    template = json.loads(FIXTURE.read_text())
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.waiters + 10, max_keepalive_connections=args.waiters + 10)
    waiters = [httpx.AsyncClient(base_url=b, headers=headers, timeout=90, limits=limits) for b in bases]
    senders = [httpx.AsyncClient(base_url=b, timeout=30) for b in bases]
    async with contextlib.AsyncExitStack() as stack:
        for client in [*waiters, *senders]:
            await stack.enter_async_context(client)
        cursor = (await waiters[0].get("/api/v1/cursor")).json()["cursor"]
        addresses = [f"bench+w{i}@qa.example.com" for i in range(args.waiters)]
        tasks = [
            asyncio.create_task(_waiter(waiters[i % len(waiters)], address, cursor, run))
            for i, address in enumerate(addresses)
        ]
        await asyncio.sleep(args.settle)  # every waiter connected and registered
        count = int(args.duration * args.rate)
        start = time.perf_counter()
        sends = []
        for k in range(count):
            delay = start + k / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            # Waiter i is on process i % n; delivery k goes to process (k // n) % n, so each
            # waiter gets deliveries through every process in turn.
            client = senders[(k // len(senders)) % len(senders)]
            sends.append(asyncio.create_task(_deliver(client, hook, _body(template, addresses[k % args.waiters]), run)))
        await asyncio.gather(*sends)
        deadline = time.perf_counter() + 5
        while len(run.answered) < len(run.delivered) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        run.stop = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return run


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _summary(run: Run) -> dict[str, Any]:
    latencies = [max(0.0, (run.answered[m] - t) * 1000) for m, t in run.delivered.items() if m in run.answered]
    early = sum(1 for m, t in run.delivered.items() if m in run.answered and run.answered[m] < t)
    return {
        "deliveries": len(run.delivered),
        "answered": len(latencies),
        "missing": len(run.delivered) - len(latencies),
        "answered_before_200": early,
        "p50_ms": round(_percentile(latencies, 0.50), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "delivery_p50_ms": round(_percentile(run.delivery_ms, 0.50), 1),
        "delivery_p99_ms": round(_percentile(run.delivery_ms, 0.99), 1),
        "errors": run.errors[:5],
        "error_count": len(run.errors),
    }


def measure(processes: int, args: argparse.Namespace) -> dict[str, Any]:
    with h.MailhookStack() as stack, contextlib.ExitStack() as servers:
        engine = make_engine(Settings(database_url=stack.database_url))
        token, _ = create_token(engine, name="bench", scope=Scope.read)
        engine.dispose()
        started = [
            servers.enter_context(
                h.UvicornServer(
                    f"web{i}",
                    "service.cli.web:create_web_app",
                    factory=True,
                    env={**stack.env, "MAILHOOK_MAX_WAIT_S": "300"},
                    ready_path="/readyz",
                    log_path=stack.root / f"web{i}.log",
                )
            )
            for i in range(processes)
        ]
        load = h.ForeignLoad([s.pid for s in started] + [stack.redis.process.pid]).start()
        cpu_before = sum(h.process_cpu_seconds(s.pid) for s in started)
        run = asyncio.run(_load([s.base_url for s in started], stack.hook_path("improvmx"), token, args))
        server_cpu = sum(h.process_cpu_seconds(s.pid) for s in started) - cpu_before
        result = {"processes": processes, **_summary(run), **load.stop()}
        # Web processes' CPU for the whole run (waiter set-up included) per delivery answered.
        result["server_cpu_ms_per_delivery"] = round(1000 * server_cpu / max(1, result["answered"]), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/wait", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--waiters", type=int, default=200, help="concurrent waiters on distinct addresses (default 200)")
    p.add_argument("--rate", type=float, default=100.0, help="deliveries per second (default 100)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of deliveries per run (default 10)")
    p.add_argument("--settle", type=float, default=2.0, help="seconds for waiters to connect first (default 2)")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="web process counts (default 1 2)")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="wait up to this many seconds for other processes to calm down before each run (default 60)",
    )
    p.add_argument("--quiet-threshold", type=float, default=30.0, help="percent of a core that counts as calm")
    args = p.parse_args(argv)
    env = h.environment()
    print(
        f"wait bench: {args.waiters} waiters, {args.rate:g} deliveries/s for {args.duration:g} s (ImprovMX hook), "
        f"{env['cores']} cores, uvicorn {env['uvicorn_loop']}/{env['uvicorn_http']}, other processes "
        f"{h.idle_check():.0f}% of a core at start",
        flush=True,
    )
    print(
        f"{'processes':>9}  {'answered':>9}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  {'200 p99':>7}  "
        "server CPU ms/delivery  other processes"
    )
    ok = True
    for processes in args.processes:
        if args.quiet_wait > 0:
            h.wait_for_quiet(args.quiet_threshold, args.quiet_wait)
        r = measure(processes, args)
        print(
            f"{r['processes']:>9}  {r['answered']:>4}/{r['deliveries']:<4}  {r['p50_ms']:>7}  {r['p99_ms']:>7}  "
            f"{r['max_ms']!s:>7}  {r['delivery_p99_ms']:>7}  {r['server_cpu_ms_per_delivery']:>22}  "
            f"{r['foreign_pct']:.0f}% of a core"
            + (f"  errors: {r['error_count']} {r['errors']}" if r["error_count"] else ""),
            flush=True,
        )
        ok &= r["missing"] == 0 and r["error_count"] == 0 and r["p99_ms"] < TARGET_P99_MS
    print(f"target: every delivery answered, p99 < {TARGET_P99_MS:g} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
