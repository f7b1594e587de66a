"""SMTP load generator for bench/ingest_paths: N concurrent aiosmtplib sessions, each sending
messages in a loop over one connection (EHLO once, then MAIL/RCPT/DATA per message) until the
duration is over; the message in flight at the deadline is finished, none is started after it.

Every occurrence of MARKER in the template is replaced per message by 20 hex digits
(TAG, connection number, counter), the same scheme as bench/wrk_unique_post.lua. Prints one line
``BENCH_JSON {...}``: messages accepted (250), refused (4xx/5xx), connection errors, and latency
percentiles per message (MAIL FROM to the 250 after the final dot).

    python -m bench._smtp_load --port 2525 --template msg.eml --marker @@BENCH_ID@@ --tag 1a2b3c4d \
        --rcpt login@in.example.net [--connections 32] [--duration 10]
"""

# ruff: noqa: T201 (prints its result line for the parent process)

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib


@dataclass
class Tally:
    ok: int = 0
    refused: int = 0
    errors: int = 0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    template = Path(args.template).read_bytes()
    parts = template.split(args.marker.encode())
    if len(parts) < 2:
        raise SystemExit("marker not found in template")
    tally = Tally()
    clients = await asyncio.gather(*(_connect(args, tally) for _ in range(args.connections)))
    # Every session is connected (and has said EHLO) before the clock starts.
    t0 = time.monotonic()
    deadline = t0 + args.duration
    await asyncio.gather(*(_loop(i, c, args, parts, deadline, tally) for i, c in enumerate(clients) if c))
    elapsed = time.monotonic() - t0
    lat = sorted(tally.latencies)
    return {
        "duration_s": round(elapsed, 3),
        "connections": args.connections,
        "ok": tally.ok,
        "refused": tally.refused,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "ok_per_s": round(tally.ok / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(1000 * percentile(lat, 50), 3),
            "p90": round(1000 * percentile(lat, 90), 3),
            "p99": round(1000 * percentile(lat, 99), 3),
            "p99.9": round(1000 * percentile(lat, 99.9), 3),
            "max": round(1000 * (lat[-1] if lat else 0.0), 3),
            "mean": round(1000 * (sum(lat) / len(lat)) if lat else 0.0, 3),
        },
        "message_bytes": len(template) + (len(parts) - 1) * (20 - len(args.marker)),
    }


async def _connect(args: argparse.Namespace, tally: Tally) -> aiosmtplib.SMTP | None:
    client = aiosmtplib.SMTP(
        hostname=args.host,
        port=args.port,
        start_tls=False,
        use_tls=False,
        timeout=args.timeout,
        local_hostname="load.bench.example.net",
    )
    try:
        await client.connect()
        await client.ehlo()
    except (aiosmtplib.SMTPException, OSError) as exc:
        tally.errors += 1
        tally.first_error = tally.first_error or f"connect: {exc!r}"[:300]
        return None
    return client


async def _loop(
    index: int, client: aiosmtplib.SMTP, args: argparse.Namespace, parts: list[bytes], deadline: float, tally: Tally
) -> None:
    counter = 0
    try:
        while time.monotonic() < deadline:
            counter += 1
            message = f"{args.tag}{index:04x}{counter:08x}".encode().join(parts)
            t0 = time.perf_counter()
            try:
                await client.sendmail(args.sender, [args.rcpt], message)
            except aiosmtplib.SMTPResponseException as exc:
                tally.refused += 1
                tally.first_error = tally.first_error or f"{exc.code} {exc.message}"[:300]
                continue
            except (aiosmtplib.SMTPException, OSError) as exc:
                tally.errors += 1
                tally.first_error = tally.first_error or repr(exc)[:300]
                return
            tally.latencies.append(time.perf_counter() - t0)
            tally.ok += 1
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--marker", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--sender", default="bounces@mail.accounts.example.com")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args))
    else:
        result = uvloop.run(run(args))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
