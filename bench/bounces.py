"""Bounce classification cost: ms per message next to the stdlib parse of the same bytes.

Two inputs, both from ``../shared/corpora``:

* ``sisimai``: every file of ``bounces/sisimai/maildir`` (bsd, dos, mac, not, err, tmp: real
  bounces from ~60 MTAs, their CRLF/CR twins, look-alikes and broken ones);
* ``ordinary``: ``otp/eml``, sign-in and notification mail — what most inbound mail is, and
  what the classifier must turn away cheaply.

Per message, in the same run and on the same bytes: ``parse`` is the stdlib parse alone
(``email.message_from_bytes``, compat32, as the worker's parse step does), ``parse_mime`` the
worker's whole parse step (``workers.steps.mime_parse.parse_mime``), and ``classify`` the whole
classifier (which parses again itself). Times are CPU of this thread (``time.thread_time``),
after one warm-up round.

    .venv/bin/python -m bench.bounces              # 5 rounds
    .venv/bin/python -m bench.bounces --rounds 20
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import email
import email.policy
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench._harness import REPO
from workers.bounces import classify
from workers.steps.mime_parse import parse_mime

CORPORA = REPO.parent / "shared" / "corpora"
INPUTS = {
    "sisimai": (CORPORA / "bounces" / "sisimai" / "maildir", "*/*"),
    "ordinary": (CORPORA / "otp" / "eml", "*.eml"),
}


def _parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


STEPS: dict[str, Callable[[bytes], object]] = {"parse": _parse, "parse_mime": parse_mime, "classify": classify}


def _messages(folder: Path, pattern: str) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.glob(pattern)) if path.is_file()]


def _run(messages: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Per-message CPU ms of each step, over ``rounds`` rounds (steps interleaved per message)."""
    times: dict[str, list[float]] = {name: [] for name in STEPS}
    for _ in range(rounds):
        for raw in messages:
            for name, step in STEPS.items():
                start = time.thread_time()
                step(raw)
                times[name].append((time.thread_time() - start) * 1000)
    return times


def _report(label: str, messages: list[bytes], rounds: int) -> None:
    if not messages:
        print(f"{label:<9} (no messages: corpus not found under {CORPORA})")
        return
    _run(messages, 1)
    times = _run(messages, rounds)
    reports = sum(classify(raw) is not None for raw in messages)
    size = statistics.fmean(len(raw) for raw in messages) / 1024
    print(f"{label:<9} {len(messages)} msgs, mean {size:.1f} KB, {reports} classified as bounces, {rounds} rounds")
    for name, values in times.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        mean, median = statistics.fmean(values), statistics.median(values)
        print(f"{label:<9} {name:<11} mean {mean:6.3f} ms   median {median:6.3f} ms   p95 {p95:6.3f} ms")
    ratio = statistics.fmean(times["classify"]) / statistics.fmean(times["parse"])
    print(f"{label:<9} classify / parse = {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds over each input (default 5, after 1 warm-up)")
    args = parser.parse_args()
    for label, (folder, pattern) in INPUTS.items():
        _report(label, _messages(folder, pattern), args.rounds)


if __name__ == "__main__":
    main()
