"""The answer keys of ``../shared/corpora/bounces``, read into one shape the bounce corpus test scores.

Three upstream suites, each with its own key (see ``shared/corpora/README.md``):

* **sisimai** ``maildir/bsd``: ``expected-go-sisimai.json`` and ``expected-p5-sisimai.json``,
  one record per bounced recipient (status, reply code, reason, ``hardbounce``) but no
  addresses. The two suites disagree on a few files; each suite is kept as an *alternative*
  and a prediction that matches either one agrees. Records with reason ``vacation`` (RFC 3834
  auto-replies) or ``delivered`` (a success DSN) are not bounces. ``maildir/dos`` and
  ``maildir/mac`` are CRLF/CR twins of ``bsd`` files and share their key; ``maildir/not`` are
  non-bounces. ``maildir/bsd`` files neither suite asserts are not scored.
* **rjbs-bounceparser** ``t/corpus``: ``is_bounce`` for 127 files, the bounced addresses for
  most bounces, and a DSN status for one.
* **bounce-email-rb** ``test/bounces``: a status for 10 files, hard/soft for two; all bounces.

Everything else (``sisimai/maildir/err``, the ``mailbox`` mbox files, unlabelled files) is
still run through the classifier by the robustness checks, just not scored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_BOUNCE_REASONS = frozenset({"vacation", "delivered"})
TWIN_DIRS = ("dos", "mac")


@dataclass(frozen=True)
class Record:
    """One bounced recipient as an answer key states it; ``None`` where the key says nothing."""

    status: str | None
    hard: bool | None
    reason: str | None


@dataclass(frozen=True)
class Case:
    """One labelled message: whether it is a bounce, and (per alternative key) its records."""

    name: str  # path relative to corpora/bounces, e.g. "sisimai/maildir/bsd/arf-01.eml"
    path: Path
    is_bounce: bool
    alternatives: tuple[tuple[Record, ...], ...]  # () when the key gives no per-recipient records
    addresses: frozenset[str] | None  # the exact bounced addresses, when the key lists them

    def stated_statuses(self, raw_text: str) -> list[tuple[str, ...]]:
        """Per alternative, the expected statuses that the mail itself states (sisimai invents
        ``5.0.9xx`` codes and infers others from text; those are not the mail's)."""
        return [tuple(r.status for r in alt if r.status and _states(raw_text, r.status)) for alt in self.alternatives]


def _states(raw_text: str, status: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(status)}(?![\d])", raw_text) is not None


def _sisimai_records(entry: dict[str, Any]) -> tuple[Record, ...]:
    return tuple(
        Record(status=b["status"] or None, hard=bool(b["hardbounce"]), reason=b["reason"])
        for b in entry["bounces"]
        if b["reason"] not in NOT_BOUNCE_REASONS
    )


def sisimai_cases(root: Path) -> list[Case]:
    """bsd files either suite asserts, their dos/mac twins, and the ``not`` directory."""
    base = root / "sisimai"
    keys = [json.loads((base / f"expected-{s}-sisimai.json").read_text("utf-8"))["expected"] for s in ("go", "p5")]
    cases: list[Case] = []
    for rel in sorted(set(keys[0]) | set(keys[1])):
        alternatives = tuple(dict.fromkeys(_sisimai_records(key[rel]) for key in keys if rel in key))
        is_bounce = any(alternatives)
        dirs = ["bsd", *(d for d in TWIN_DIRS if (base / rel.replace("/bsd/", f"/{d}/")).is_file())]
        for directory in dirs:
            name = rel.replace("/bsd/", f"/{directory}/")
            alts = tuple(alt for alt in alternatives if alt) if is_bounce else ()
            cases.append(Case(f"sisimai/{name}", base / name, is_bounce, alts, None))
    for path in sorted((base / "maildir" / "not").iterdir()):
        cases.append(Case(f"sisimai/maildir/not/{path.name}", path, False, (), None))
    return cases


def rjbs_cases(root: Path) -> list[Case]:
    base = root / "rjbs-bounceparser"
    key: dict[str, dict[str, Any]] = json.loads((base / "expected.json").read_text("utf-8"))["expected"]
    cases = []
    for rel, entry in sorted(key.items()):
        addresses = entry.get("addresses")
        status = entry.get("status")
        alternatives = ((Record(status, None, None),),) if status else ()
        cases.append(
            Case(
                f"rjbs-bounceparser/{rel}",
                base / rel,
                bool(entry["is_bounce"]),
                alternatives,
                frozenset(a.lower() for a in addresses) if addresses else None,
            )
        )
    return cases


def bounce_email_rb_cases(root: Path) -> list[Case]:
    base = root / "bounce-email-rb"
    key: dict[str, dict[str, Any]] = json.loads((base / "expected.json").read_text("utf-8"))["expected"]
    cases = []
    for rel, entry in sorted(key.items()):
        hard = {"hard": True, "soft": False}.get(entry.get("type", ""))
        record = Record(entry.get("status"), hard, None)
        cases.append(Case(f"bounce-email-rb/{rel}", base / rel, True, ((record,),), None))
    return cases


def all_cases(root: Path) -> list[Case]:
    """Every labelled message of the three suites."""
    return sisimai_cases(root) + rjbs_cases(root) + bounce_email_rb_cases(root)


def all_message_files(root: Path) -> list[Path]:
    """Every message file, labelled or not, for the never-raises and no-code checks (mbox files
    are returned whole; ``split_mbox`` splits them)."""
    skip = {"LICENSE", "README.md", "SOURCE.txt", "README.rdoc"}
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name not in skip and p.suffix != ".json" and "mailbox" not in p.parts
    ) + sorted((root / "sisimai" / "mailbox").glob("*"))


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox file, split at ``From `` separator lines (the separator dropped)."""
    parts = re.split(rb"(?m)^From [^\r\n]*\r?\n", data)
    return [part for part in parts if part.strip()]
