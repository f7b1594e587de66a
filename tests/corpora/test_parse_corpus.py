"""``parse_mime`` over every real-world message in ``shared/corpora``: never raises, stays fast.

The corpora hold what breaks parsers (missing boundaries, hostile nesting, broken charsets,
DSNs that crash mail-parser 4.8.0). Every message must come back as a result, failures as
defects; and the per-message cost must stay in the sub-millisecond range measured when the
stdlib path was chosen (mean 0.46 ms, worst ~30 ms on a 1 MB message).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from service.mime.body import parse_mime
from workers.extract.reply_text import reply_text

pytestmark = pytest.mark.corpus

PATTERNS = ("mime/**/*.eml", "bounces/**/*.eml", "bounces/**/*.msg", "otp/eml/*.eml")


def _messages(corpora_dir: Path) -> list[Path]:
    return sorted({path for pattern in PATTERNS for path in corpora_dir.glob(pattern) if path.is_file()})


def _has_body(result: dict[str, Any]) -> bool:
    return bool(result.get("text") or result.get("html"))


def test_parse_mime_never_raises_and_stays_fast(corpora_dir: Path) -> None:
    paths = _messages(corpora_dir)
    assert len(paths) > 500, "the corpus looks incomplete"
    slowest, total = 0.0, 0.0
    for path in paths:
        started = time.perf_counter()
        result = parse_mime(path.read_bytes())
        reply_text(result.get("text"))
        elapsed = time.perf_counter() - started
        slowest, total = max(slowest, elapsed), total + elapsed
        assert isinstance(result["defects"], list), path
    assert slowest < 2.0, f"slowest message took {slowest:.2f} s"
    assert total / len(paths) < 0.02, f"mean {total / len(paths) * 1000:.1f} ms per message"


def test_parse_mime_finds_a_body_in_nearly_every_message(corpora_dir: Path) -> None:
    paths = _messages(corpora_dir)
    bodiless = [p for p in paths if not _has_body(parse_mime(p.read_bytes()))]
    assert len(bodiless) <= len(paths) // 50, [str(p.relative_to(corpora_dir)) for p in bodiless]
