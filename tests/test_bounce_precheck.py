"""The classifier's pre-check reads the head with substring searches: the same answers as its regexes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.bounces import signals

PIECES = [
    b"\r", b"\n", b" ", b"\t", b"from:", b"From:", b"FROM:", b"sender:", b"subject:", b"Subject: ", b"<>", b"x",
    b"a: b", b"mailer-daemon", b"MAILER DAEMON", b"postmaster", b"mail system", b"undeliverable",
    b"multipart/report", b"final-recipient", b"\r\n\r\n", b"\n\n", b"\r\r", b"=?utf-8?q?Undelivered?=", b"\xff",
]  # fmt: skip
HEADS = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)


def _regex_head(raw: bytes) -> bytes:
    match = signals._HEAD_END.search(raw, 0, signals._SNIFF_BYTES)
    return raw[: match.start()] if match else raw[: signals._SNIFF_BYTES]


@settings(max_examples=3000, deadline=None)
@given(raw=HEADS)
def test_head_reading_agrees_with_the_regexes(raw: bytes) -> None:
    head = raw[: signals._head_end(raw)]
    assert head == _regex_head(raw)
    assert signals._head_signs(head, head.lower()) == (signals._HEAD_SIGNS.search(head) is not None)
    subject = signals._SUBJECT.search(head)
    assert signals._subject(head, head.lower()) == (subject.group(1) if subject else None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"From: \r\nSubject: hello\r\n\r\nbody", True),  # empty From: a mail system
        (b"From:<>\nSubject: hello\n\nbody", True),
        (b"X-From: \nSubject: hello\n\nbody", False),  # not a From field
        (b"From: Ann <ann@example.org>\nSubject: hello\n\nbody", False),
        (b"Subject: Undelivered Mail Returned to Sender\r\n\r\n", True),
        (b"From: a@b\n\nSubject: Undeliverable", False),  # a subject in the body is not the Subject
        (b"From: a@b\n" + b"X: " + b"y" * signals._SNIFF_BYTES + b"\n\nfinal-recipient: c@d", False),
    ],
)
def test_may_be_report_edge_cases(raw: bytes, expected: bool) -> None:
    assert signals.may_be_report(raw) is expected
