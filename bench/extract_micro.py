"""``find_code`` and ``find_links`` in-process: ms per message (diagnostic for bench/pipeline's extract steps).

Runs both extractors the way the worker does, ``find_code`` then ``find_links`` on the same
strings, on two inputs:

* ``bench``: the 20 KB sign-in message of ``bench/_otp_mail.py``, made unique per iteration
  (as the pipeline benchmark does), so nothing carries over from one message to the next;
* ``corpus``: every ``.eml`` of ``../shared/corpora/otp/eml``, round after round (skipped when
  the corpora are absent).

Messages are parsed (stdlib, ``subject_text_html``) before timing starts; only the extractors
are timed, with ``time.thread_time`` (CPU of this thread).

    .venv/bin/python -m bench.extract_micro                # 300 bench messages, 5 corpus rounds
    .venv/bin/python -m bench.extract_micro -n 1000 --rounds 10
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import email
import email.policy
import statistics
import time
from collections.abc import Callable
from email.message import EmailMessage

from bench._harness import REPO
from bench._otp_mail import otp_message, with_id
from service.mime.parts import subject_text_html
from workers.extract import find_code, find_links

Texts = tuple[str | None, str | None, str | None]
CORPUS = REPO.parent / "shared" / "corpora" / "otp" / "eml"


def _texts(raw: bytes) -> Texts:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return subject_text_html(msg)


def _bench_messages(count: int) -> list[Texts]:
    template = otp_message()
    return [_texts(with_id(template, f"{index:020x}")) for index in range(count)]


def _corpus_messages(rounds: int) -> list[Texts]:
    if not CORPUS.is_dir():
        return []
    once = [_texts(path.read_bytes()) for path in sorted(CORPUS.glob("*.eml"))]
    # Fresh string objects per round: equal content, so results are identical, but nothing is shared.
    return [(_copy(subject), _copy(text), _copy(html)) for _ in range(rounds) for subject, text, html in once]


def _copy(value: str | None) -> str | None:
    return None if value is None else (value + " ")[:-1]


def _cpu_ms(call: Callable[..., object], *args: str | None) -> float:
    start = time.thread_time()
    call(*args)
    return (time.thread_time() - start) * 1000


def _run(messages: list[Texts]) -> tuple[list[float], list[float]]:
    """Per-message CPU ms of find_code and of the find_links that follows it."""
    code_ms: list[float] = []
    links_ms: list[float] = []
    for subject, text, html in messages:
        code_ms.append(_cpu_ms(find_code, subject, text, html))
        links_ms.append(_cpu_ms(find_links, text, html))
    return code_ms, links_ms


def _report(label: str, messages: list[Texts], warmup: int) -> None:
    if not messages:
        print(f"{label:<8} (no messages: corpus not found at {CORPUS})")
        return
    _run(messages[:warmup])
    code_ms, links_ms = _run(messages[warmup:])
    total = [c + link for c, link in zip(code_ms, links_ms, strict=True)]
    for name, values in (("find_code", code_ms), ("find_links", links_ms), ("both", total)):
        mean, median = statistics.fmean(values), statistics.median(values)
        print(f"{label:<8} {name:<11} mean {mean:6.3f} ms   median {median:6.3f} ms   ({len(values)} msgs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="bench messages (default 300, after 20 warm-up)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the otp corpus (default 5, after 1 warm-up)")
    args = parser.parse_args()
    _report("bench", _bench_messages(args.n + 20), warmup=20)
    _report("corpus", _corpus_messages(args.rounds + 1), warmup=len(_corpus_messages(1)))


if __name__ == "__main__":
    main()
