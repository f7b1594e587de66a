"""The bounce classifier on mail written here: DSNs, MTA notices, complaints and look-alikes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.mail.bounce import BounceReport
from workers.bounces import classifier, classify, classify_with_defects

ORIGINAL = """\
From: Shop <orders@shop.example>
To: {to}
Subject: Your order
Message-ID: <order-42@shop.example>
Date: Mon, 01 Dec 2025 10:00:00 +0000

Thanks for your order.
"""


def dsn(*recipients: str, notice: str = "I'm sorry, your message could not be delivered.") -> bytes:
    """A Postfix-shaped RFC 3464 report with one per-recipient block per argument."""
    blocks = "\n".join(recipients)
    return f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.shop.example>
To: orders@shop.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.shop.example.

{notice}

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example
Arrival-Date: Mon, 01 Dec 2025 10:00:01 +0000

{blocks}
--B1
Content-Type: message/rfc822

{ORIGINAL.format(to="ghost@example.org")}
--B1--
""".encode()


def block(address: str, action: str, status: str, diagnostic: str) -> str:
    return (
        f"Final-Recipient: rfc822; {address}\nOriginal-Recipient: rfc822;{address}\nAction: {action}\n"
        f"Status: {status}\nRemote-MTA: dns; mx.example.org\nDiagnostic-Code: smtp; {diagnostic}\n"
    )


def test_dsn_user_unknown_is_a_hard_bounce_with_status_code_and_original() -> None:
    raw = dsn(block("ghost@example.org", "failed", "5.1.1", "550 5.1.1 <ghost@example.org>: User unknown"))
    report = classify(raw)
    assert report is not None
    assert (report.kind, report.reason, report.status, report.reply_code) == ("hard", "user_unknown", "5.1.1", 550)
    assert [r.address for r in report.recipients] == ["ghost@example.org"]
    assert report.reporting_mta == "mx.shop.example"
    assert report.original_message_id == "<order-42@shop.example>"
    assert report.as_dict() == {
        "kind": "hard",
        "reason": "user_unknown",
        "status": "5.1.1",
        "reply_code": 550,
        "recipients": ["ghost@example.org"],
        "diagnostic": "550 5.1.1 <ghost@example.org>: User unknown",
    }


def test_multi_recipient_dsn_judges_each_recipient_and_reports_the_worst() -> None:
    raw = dsn(
        block("full@example.org", "failed", "5.2.2", "552 5.2.2 Mailbox full"),
        block("Gone@Example.ORG", "failed", "5.1.1", "550 5.1.1 No such user"),
        block("blocked@example.net", "failed", "5.7.1", "554 5.7.1 Message rejected as spam"),
    )
    report = classify(raw)
    assert report is not None
    verdicts = [(r.address, r.kind, r.reason, r.status) for r in report.recipients]
    assert verdicts == [
        ("full@example.org", "soft", "mailbox_full", "5.2.2"),
        ("Gone@example.org", "hard", "user_unknown", "5.1.1"),
        ("blocked@example.net", "soft", "policy", "5.7.1"),
    ]
    assert (report.kind, report.reason, report.status) == ("hard", "user_unknown", "5.1.1")


def test_dsn_blocks_without_blank_lines_between_recipients_are_still_split() -> None:
    raw = dsn(
        block("a@example.org", "failed", "5.1.1", "550 5.1.1 User unknown").rstrip("\n")
        + "\n"
        + block("b@example.org", "failed", "5.1.1", "550 5.1.1 User unknown")
    )
    report = classify(raw)
    assert report is not None and [r.address for r in report.recipients] == ["a@example.org", "b@example.org"]


def test_delayed_dsn_is_kind_delayed() -> None:
    raw = dsn(
        block("slow@example.org", "delayed", "4.4.1", "451 4.4.1 Connection timed out"),
        notice="Delivery to the following recipient has been delayed; it will be retried.",
    )
    report = classify(raw)
    assert report is not None
    assert report.kind == "delayed" and report.recipients[0].kind == "delayed"
    assert report.status == "4.4.1"


def test_success_dsn_is_not_a_bounce() -> None:
    raw = dsn(block("fine@example.org", "delivered", "2.0.0", "250 2.0.0 OK"))
    assert classify(raw) is None


ARF = b"""\
From: Feedback Loop <fbl@isp.example>
To: abuse@shop.example
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F1"

--F1
Content-Type: text/plain

This is an email abuse report for a message received from 192.0.2.1.

--F1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <orders@shop.example>
Original-Rcpt-To: <carol@isp.example>
Arrival-Date: Mon, 01 Dec 2025 10:00:00 +0000

--F1
Content-Type: message/rfc822

From: Shop <orders@shop.example>
To: carol@isp.example
Subject: Deals
Message-ID: <deal-7@shop.example>

Buy now.
--F1--
"""


def test_arf_feedback_report_is_a_complaint() -> None:
    report = classify(ARF)
    assert report is not None
    assert (report.kind, report.reason) == ("complaint", "policy")
    assert [(r.address, r.kind) for r in report.recipients] == [("carol@isp.example", "complaint")]
    assert report.original_message_id == "<deal-7@shop.example>"


def test_not_spam_feedback_is_not_a_complaint() -> None:
    assert classify(ARF.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")) is None


VACATION = b"""\
From: Alice <alice@example.org>
To: orders@shop.example
Subject: Out of Office: Your order
Auto-Submitted: auto-replied
Return-Path: <>
Date: Mon, 01 Dec 2025 10:05:00 +0000

I am out of the office until 8 December with limited access to email.
Your message could not be read until then; for urgent matters contact bob@example.org.
"""

CHALLENGE = b"""\
From: Spam Guard <verify@guard.example>
To: orders@shop.example
Subject: Re: Your order

Hello, your message to dave@example.net is being held.
To get it delivered, please verify that you are a human by clicking the link below;
you will be added to my allow list and your message will be delivered:

https://guard.example/verify/abc123
"""

ORDINARY = b"""\
From: Service <no-reply@service.example>
To: user@example.org
Subject: Your sign-in code
Date: Mon, 01 Dec 2025 10:00:00 +0000

Your verification code is 482913. It expires in 10 minutes.
"""


@pytest.mark.parametrize("raw", [VACATION, CHALLENGE, ORDINARY], ids=["vacation", "challenge", "ordinary"])
def test_auto_replies_challenges_and_ordinary_mail_are_not_bounces(raw: bytes) -> None:
    assert classify_with_defects(raw) == (None, [])


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe garbage \x89PNG\r\n\x1a\n", b"\n\n\n", b"From: \x80\x81\n\n\xff" * 50, "ünïcode".encode()],
    ids=["empty", "binary", "blank", "bad-bytes", "utf8-body"],
)
def test_garbage_bytes_give_no_report_and_no_exception(raw: bytes) -> None:
    assert classify_with_defects(raw) == (None, [])


POSTFIX_PLAIN = b"""\
From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)
To: orders@shop.example
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.shop.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<nobody@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

------ This is a copy of the message, including all the headers. ------

From: Shop <orders@shop.example>
To: nobody@example.org
Subject: Your order
Message-ID: <order-43@shop.example>

Thanks.
"""

QMAIL = b"""\
From: MAILER-DAEMON@mail.example.net
To: orders@shop.example
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<full@example.net>:
Remote host said: 552 sorry, mailbox full (#5.2.2)

--- Below this line is a copy of the message.

Return-Path: <orders@shop.example>
From: Shop <orders@shop.example>
To: full@example.net
Subject: Your order
"""


def test_plain_text_postfix_notice_is_read_without_a_dsn() -> None:
    report = classify(POSTFIX_PLAIN)
    assert report is not None
    recipient = report.recipients[0]
    assert (recipient.address, recipient.kind, recipient.reason) == ("nobody@example.org", "hard", "user_unknown")
    assert (recipient.status, recipient.reply_code) == ("5.1.1", 550)
    assert report.original_message_id == "<order-43@shop.example>"
    assert report.reporting_mta == "mx.shop.example"


def test_qmail_notice_reports_the_listed_recipient_and_its_error() -> None:
    report = classify(QMAIL)
    assert report is not None
    assert [(r.address, r.kind, r.reason, r.reply_code) for r in report.recipients] == [
        ("full@example.net", "soft", "mailbox_full", 552)
    ]


def test_unknown_user_answered_to_data_is_not_hard() -> None:
    """After DATA the server had accepted the recipient: a bare "user unknown" is a filter."""
    raw = POSTFIX_PLAIN.replace(b"in reply to RCPT TO command", b"in reply to end of DATA command").replace(
        b"550 5.1.1\n    <nobody@example.org>: Recipient address rejected: User unknown in virtual\n    mailbox table",
        b"550 User unknown",
    )
    report = classify(raw)
    assert report is not None and report.recipients[0].kind == "soft"


def test_ses_notification_delivered_by_mail_is_read() -> None:
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [
                {
                    "emailAddress": "ghost@example.org",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 no such user",
                }
            ],
            "reportingMTA": "dsn; a1.smtp-out.amazonses.com",
        },
        "mail": {"commonHeaders": {"messageId": "<o-1@shop.example>"}},
    }
    envelope = {"Type": "Notification", "Message": json.dumps(notification)}
    raw = b"From: AWS Notifications <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n\n"
    report = classify(raw + json.dumps(envelope).encode())
    assert report is not None
    assert (report.kind, report.status, report.reply_code) == ("hard", "5.1.1", 550)
    assert report.original_message_id == "<o-1@shop.example>"


def test_internal_failure_is_a_defect_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(raw: bytes) -> BounceReport | None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(classifier, "_classify", explode)
    report, defects = classify_with_defects(dsn(block("a@example.org", "failed", "5.1.1", "550 unknown")))
    assert report is None
    assert defects == ["bounce classifier failed: RecursionError: maximum recursion depth exceeded"]


def test_deeply_nested_and_huge_mail_finishes_without_a_report() -> None:
    nested = b"Content-Type: multipart/mixed; boundary=x\n\n--x\n" * 2000 + b"mailer-daemon undeliverable\n"
    assert classify_with_defects(b"From: MAILER-DAEMON@x.example\n" + nested)[1] == []
    assert classify(b"Subject: hi\n\n" + b"A" * 6_000_000) is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    report, defects = classify_with_defects(raw)
    assert defects == []
    assert report is None or isinstance(report, BounceReport)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_random_text_in_a_dsn_never_raises(noise: str) -> None:
    raw = dsn(block("a@example.org", "failed", "5.1.1", noise.replace("\n", " ")), notice=noise)
    report, defects = classify_with_defects(raw.replace(b"\r", b""))
    assert defects == []
