"""The ``mail-parser`` engine of the parse step survives mail-parser's own crashes on real DSNs."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.mime.mailparser_engine import parse_with_mailparser

pytestmark = pytest.mark.corpus


def test_mail_parser_crash_on_a_sendgrid_dsn_becomes_a_defect(corpora_dir: Path) -> None:
    # The corpus README: mail-parser 4.8.0 raises AttributeError inside find_between on these.
    paths = sorted((corpora_dir / "bounces/sisimai/maildir/bsd").glob("lhost-sendgrid-0*.eml"))
    assert paths, "the sisimai SendGrid DSNs are missing from the corpus"
    outcomes = [parse_with_mailparser(path.read_bytes()) for path in paths]
    assert any(d.startswith("parser_error: AttributeError") for o in outcomes for d in o["defects"])
