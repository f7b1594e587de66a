"""The classifier's pre-check scans the head and body once with RE2: the same answers as the regexes it replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workers.bounces import mime, signals

# The pre-check as it stood before the single scan (its substring fast paths were proven equal to
# these regexes): the head ends at the first blank line within the first 96 KiB; a sign in the
# head, a non-delivery Subject (decoded) or a DSN/ARF/SES token in the body lets a mail through.
OLD_HEAD_END = re.compile(rb"\r?\n\r?\n|\r\r")
OLD_HEAD_SIGNS = re.compile(
    rb"(?i)multipart/report|feedback-report|delivery-status|"
    rb"(?:^|[\r\n])(from|sender):[^\r\n]{0,200}?(mailer[-_ ]?daemon|post[-_ ]?master|mail[-_ ]?daemon|mail delivery|"
    rb"delivery (sub)?system|mail system|mail administrator|mdaemon)|(?:^|[\r\n])from:[ \t]*(<>)?[ \t]*(?:[\r\n]|$)"
)
OLD_SUBJECT = re.compile(rb"(?i)(?:^|[\r\n])subject:([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)")
OLD_BODY_TOKENS = (
    b"final-recipient", b"original-recipient", b"original-rcpt-to", b"feedback-type", b"x-hmxmroriginalrecipient",
    b"notificationtype", b"eventtype", b"qmail-send program", b"mail system at host", b"by mail delivery software",
    b"transcript of session", b"permanent fatal errors", b"wasn't able to deliver", b"delivery has failed",
    b"did not reach", b"delivered to",
)  # fmt: skip
SNIFF = 96 * 1024


def old_may_be_report(raw: bytes) -> bool:
    end = OLD_HEAD_END.search(raw, 0, SNIFF)
    head = raw[: end.start()] if end else raw[:SNIFF]
    if OLD_HEAD_SIGNS.search(head):
        return True
    subject = OLD_SUBJECT.search(head)
    if subject and signals._BOUNCE_SUBJECT.search(
        mime.decode_header_text(subject.group(1).decode("utf-8", "surrogateescape"))
    ):
        return True
    body = raw[len(head) : SNIFF].lower()
    return any(token in body for token in OLD_BODY_TOKENS)


PIECES = [
    b"\r", b"\n", b" ", b"\t", b"from:", b"From:", b"FROM:", b"sender:", b"Sender: x ", b"subject:", b"Subject: ",
    b"<>", b"x", b"a: b", b"mailer-daemon", b"MAILER DAEMON", b"postmaster", b"Post_Master", b"mail system",
    b"delivery subsystem", b"mdaemon", b"undeliverable", b"Delivery Status Notification", b"delivery-status",
    b"multipart/report", b"Feedback-Report", b"final-recipient", b"Final-Recipient", b"DELIVERED TO", b"eventType",
    b"\r\n\r\n", b"\n\n", b"\r\r", b"\r\n", b"=?utf-8?q?Undelivered?=", b"=?utf-8?b?VW5kZWxpdmVyYWJsZQ==?=",
    b"\xff", b"\xe9", b"\xc0", b"\xb5", b"K", b"\x00", b"y" * 201,
]  # fmt: skip
MAILS = st.lists(st.sampled_from(PIECES) | st.binary(max_size=8), max_size=40).map(b"".join)
# A long head or a long body puts the blank line or a token across the 96 KiB the pre-check reads.
FILLER = st.integers(min_value=SNIFF - 64, max_value=SNIFF + 8).map(lambda n: b"y" * n)
LONG_MAILS = st.tuples(MAILS, FILLER, MAILS).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(raw=MAILS)
@example(raw=b"Subject: delivery-status report\n\nhi")
@example(raw=b"X: a\nFrom: a@b\n\nFrom: MAILER-DAEMON\n")
@example(raw=b"\nsubject:\n\ndelivered to")
@example(raw=b"from:\n\r\r")
def test_may_be_report_agrees_with_the_old_predicate(raw: bytes) -> None:
    assert signals.may_be_report(raw) is old_may_be_report(raw)


@settings(max_examples=50, deadline=None)
@given(raw=LONG_MAILS)
def test_may_be_report_agrees_with_the_old_predicate_at_the_96_kib_edge(raw: bytes) -> None:
    assert signals.may_be_report(raw) is old_may_be_report(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"From: \r\nSubject: hello\r\n\r\nbody", True),  # empty From: a mail system
        (b"From:<>\nSubject: hello\n\nbody", True),
        (b"X-From: \nSubject: hello\n\nbody", False),  # not a From field
        (b"From: Ann <ann@example.org>\nSubject: hello\n\nbody", False),
        (b"Subject: Undelivered Mail Returned to Sender\r\n\r\n", True),
        (b"Subject: =?utf-8?b?VW5kZWxpdmVyYWJsZQ==?=\r\n\r\n", True),  # decoded: Undeliverable
        (b"From: a@b\n\nSubject: Undeliverable", False),  # a subject in the body is not the Subject
        (b"From: a@b\n\nFrom: MAILER-DAEMON", False),  # nor is a From
        (b"From: a@b\n\nOriginal-Recipient: rfc822; c@d", True),
        (b"From: a@b\n" + b"X: " + b"y" * signals._SNIFF_BYTES + b"\n\nfinal-recipient: c@d", False),
    ],
)
def test_may_be_report_edge_cases(raw: bytes, expected: bool) -> None:
    assert signals.may_be_report(raw) is expected
