"""Bounce classification cost: ms per message next to the stdlib parse of the same bytes.

Two inputs, both from ``../shared/corpora``:

* ``sisimai``: every file of ``bounces/sisimai/maildir`` (bsd, dos, mac, not, err, tmp: real
  bounces from ~60 MTAs, their CRLF/CR twins, look-alikes and broken ones);
* ``ordinary``: ``otp/eml``, sign-in and notification mail — what most inbound mail is, and
  what the classifier must turn away cheaply;
* ``pipeline``: the 20 KB sign-in mail ``bench/pipeline`` sends (``bench/_otp_mail.py``).

Per message, in the same run and on the same bytes: ``parse`` is the stdlib parse alone
(``email.message_from_bytes``, compat32, as the worker's parse step does), ``parse_mime`` the
worker's whole parse step (``service.mime.body.parse_mime``), and ``classify`` the whole
classifier (which parses again itself). Times are CPU of this thread (``time.thread_time``),
after one warm-up round.

What the job adds per message (``workers.hydrate``), next to its ``parse_mime``: ``precheck`` is
the classifier's byte-level pre-check alone (``signals.may_be_report``: all ordinary mail costs),
``job`` what the job runs on raw MIME (``workers.bouncemail.read_bounce``: the classifier, plus
the returned original's ``Resent-Message-ID`` for a bounce), and ``job_fields`` what it runs for
a provider delivery without raw MIME (MIME rebuilt from the row's headers, text and report
attachments by ``workers.bouncemime``, then ``read_bounce``; the row is built from the same
mail beforehand, untimed).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path

from bench._harness import REPO
from bench._otp_mail import otp_message
from service.mime.body import parse_mime
from service.store.models import Message
from workers.bouncemail import BounceFinding, read_bounce
from workers.bouncemime import is_report_part, rebuilt_mime
from workers.bounces import classify
from workers.bounces.signals import may_be_report

CORPORA = REPO.parent / "shared" / "corpora"
INPUTS = {
    "sisimai": (CORPORA / "bounces" / "sisimai" / "maildir", "*/*"),
    "ordinary": (CORPORA / "otp" / "eml", "*.eml"),
}


@dataclass(frozen=True)
class Mail:
    """One corpus file, and the row a JSON provider would have stored for it (no raw MIME)."""

    raw: bytes
    row: Message
    parts: list[tuple[str, bytes]]


def _parse(mail: Mail) -> object:
    return email.message_from_bytes(mail.raw, policy=email.policy.compat32)


def _job_fields(mail: Mail) -> BounceFinding:
    return read_bounce(rebuilt_mime(mail.row, mail.parts))


STEPS: dict[str, Callable[[Mail], object]] = {
    "parse": _parse,
    "parse_mime": lambda mail: parse_mime(mail.raw, with_data=True),
    "classify": lambda mail: classify(mail.raw),
    "precheck": lambda mail: may_be_report(mail.raw),
    "job": lambda mail: read_bounce(mail.raw),
    "job_fields": _job_fields,
}


def _mail(raw: bytes) -> Mail:
    """The mail, and the row a provider delivering fields would give (headers, text, HTML, parts)."""
    parsed = parse_mime(raw, with_data=True)
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    name, address = parseaddr(str(msg.get("From", "")))
    row = Message(
        id="bench",
        source="bench",
        provider="improvmx",
        idempotency_key="bench",
        received_at=datetime.now(UTC),
        from_name=name or None,
        from_address=address or None,
        subject=parsed.get("subject"),
        text=parsed.get("text"),
        html=parsed.get("html"),
        headers=[[str(k), str(v)] for k, v in msg.items()],
    )
    found = parsed.get("attachments") or []
    parts = [(a["content_type"], a["data"]) for a in found if is_report_part(a["content_type"]) and "data" in a]
    return Mail(raw, row, parts)


def _messages(folder: Path, pattern: str) -> list[Mail]:
    return [_mail(path.read_bytes()) for path in sorted(folder.glob(pattern)) if path.is_file()]


def _run(messages: list[Mail], rounds: int) -> dict[str, list[float]]:
    """Per-message CPU ms of each step, over ``rounds`` rounds (steps interleaved per message)."""
    times: dict[str, list[float]] = {name: [] for name in STEPS}
    for _ in range(rounds):
        for mail in messages:
            for name, step in STEPS.items():
                start = time.thread_time()
                step(mail)
                times[name].append((time.thread_time() - start) * 1000)
    return times


def _report(label: str, messages: list[Mail], rounds: int) -> None:
    if not messages:
        print(f"{label:<9} (no messages: corpus not found under {CORPORA})")
        return
    _run(messages, 1)
    times = _run(messages, rounds)
    reports = sum(classify(mail.raw) is not None for mail in messages)
    from_fields = sum(_job_fields(mail).report is not None for mail in messages)
    size = statistics.fmean(len(mail.raw) for mail in messages) / 1024
    print(
        f"{label:<9} {len(messages)} msgs, mean {size:.1f} KB, {reports} classified as bounces "
        f"({from_fields} from provider fields), {rounds} rounds"
    )
    for name, values in times.items():
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        mean, median = statistics.fmean(values), statistics.median(values)
        print(f"{label:<9} {name:<11} mean {mean:6.3f} ms   median {median:6.3f} ms   p95 {p95:6.3f} ms")
    ratio = statistics.fmean(times["classify"]) / statistics.fmean(times["parse"])
    job = statistics.fmean(times["job"]) / statistics.fmean(times["parse_mime"])
    print(f"{label:<9} classify / parse = {ratio:.2f}x; job / parse_mime (the job's own parse) = {job:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds over each input (default 5, after 1 warm-up)")
    args = parser.parse_args()
    for label, (folder, pattern) in INPUTS.items():
        _report(label, _messages(folder, pattern), args.rounds)
    # The 20 KB sign-in mail bench/pipeline sends: what its overhead figures come from.
    _report("pipeline", [_mail(otp_message(20 * 1024))], args.rounds * 50)


if __name__ == "__main__":
    main()
