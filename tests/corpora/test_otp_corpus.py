"""Score code and link extraction on real products' templates rendered into whole messages.

``shared/corpora/otp/eml/expected.json`` gives, for every ``.eml``, the exact code (or
``null``), the verification links and a category (``otp``, ``otp+link``, ``link``,
``negative``). The extractor must get every code exactly, return no code for negatives and
find every listed link. Scores are printed per category so CI output shows where it stands.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.mime.parts import sender_name, subject_text_html
from workers.extract import find_code, find_links

pytestmark = pytest.mark.corpus


@dataclass(frozen=True)
class Result:
    """What the extractor returned for one message next to what was expected."""

    name: str
    category: str
    expected_code: str | None
    code: str | None
    expected_links: tuple[str, ...]
    links: tuple[str, ...]

    @property
    def code_ok(self) -> bool:
        return self.code == self.expected_code

    @property
    def missing_links(self) -> list[str]:
        return [link for link in self.expected_links if link not in self.links]


def _extract(path: Path, expected: dict[str, Any]) -> Result:
    """Parse one message with the stdlib and run both extractors on it."""
    with path.open("rb") as handle:
        msg = email.message_from_binary_file(handle, policy=email.policy.default)
    subject, text, html = subject_text_html(msg)
    return Result(
        name=path.name,
        category=str(expected["category"]),
        expected_code=expected["code"],
        code=find_code(subject, text, html, sender=sender_name(msg)),
        expected_links=tuple(expected["links"]),
        links=tuple(find_links(text, html)),
    )


@pytest.fixture(scope="module")
def results(corpora_dir: Path) -> list[Result]:
    """Every message in the OTP corpus, extracted once for all the tests below."""
    eml_dir = corpora_dir / "otp" / "eml"
    expected: dict[str, dict[str, Any]] = json.loads((eml_dir / "expected.json").read_text("utf-8"))
    on_disk = {path.name for path in eml_dir.glob("*.eml")}
    assert expected, "expected.json lists no messages"
    assert on_disk == set(expected), f"eml files and expected.json disagree: {sorted(on_disk ^ set(expected))}"
    return [_extract(eml_dir / name, expected[name]) for name in sorted(expected)]


def _scoreboard(results: list[Result]) -> str:
    """Per-category and overall exact-code rate and link recall, as a small table."""
    groups: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        groups[result.category].append(result)
    groups["overall"] = list(results)
    rows = [f"OTP corpus  {'category':<10}{'msgs':>5}  {'code exact':<16}links found"]
    for category, members in groups.items():
        codes = sum(r.code_ok for r in members)
        wanted = sum(len(r.expected_links) for r in members)
        found = wanted - sum(len(r.missing_links) for r in members)
        code_rate = f"{codes}/{len(members)} ({100 * codes / len(members):.0f}%)"
        link_rate = f"{found}/{wanted} ({100 * found / wanted:.0f}%)" if wanted else "-"
        rows.append(f"            {category:<10}{len(members):>5}  {code_rate:<16}{link_rate}")
    return "\n".join(rows)


def test_print_scores(results: list[Result], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + _scoreboard(results))  # noqa: T201


def test_every_expected_code_found_exactly(results: list[Result]) -> None:
    wrong = [(r.name, r.expected_code, r.code) for r in results if r.expected_code is not None and not r.code_ok]
    assert not wrong, f"(file, expected, got): {wrong}"


def test_no_code_where_none_expected(results: list[Result]) -> None:
    wrong = [(r.name, r.category, r.code) for r in results if r.expected_code is None and r.code is not None]
    assert not wrong, f"(file, category, got): {wrong}"


def test_negatives_yield_no_code(results: list[Result]) -> None:
    negatives = [r for r in results if r.category == "negative"]
    assert negatives, "corpus has no negative messages"
    assert [r.name for r in negatives if r.code is not None] == []


def test_every_expected_link_found(results: list[Result]) -> None:
    missing = [(r.name, r.missing_links) for r in results if r.missing_links]
    assert not missing, f"(file, missing links): {missing}"
