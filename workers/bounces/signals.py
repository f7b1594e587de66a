"""Does a mail without a machine-readable report look like a bounce at all?

Three independent kinds of evidence, each common to nearly every MTA: the sender is a mail
system (``MAILER-DAEMON``, ``postmaster``, "Mail Delivery System", a null Return-Path), the
subject is a non-delivery subject in one of the usual wordings and languages, and the notice
text says delivery failed. A mail needs two kinds (or a notice that is unmistakable on its own)
so that a person writing "your mail could not be delivered" to a friend is not a bounce.
"""

from __future__ import annotations

import re
from email.message import Message

import re2

from workers.bounces import mime

_SYSTEM_SENDER = re.compile(
    r"\b(mailer[-_ ]?daemon|post[-_ ]?master|mail[-_ ]?daemon|mail delivery (sub)?system|mail delivery service|"
    r"mail administrator|mail system|delivery status notification|mail ?delivery|mdaemon|"
    r"system administrator|mailadmin|mail-?router)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not delivered|non-?deliver|nondeliver|delivery (status )?notification|"
    r"delivery (failure|failed|problem|report|error|has failed|notice|status)|mail delivery|returned mail|"
    r"return(ed)? to sender|"
    r"failure notice|failed (mail|delivery)|could not (be )?deliver|couldn't (be )?deliver|"
    r"delivery (was )?(unsuccessful|delayed)|"
    r"mail (system )?error|rejected|bounced?\b|warning: could not send|message (was )?blocked|permanent error|"
    r"delayed mail|still being retried|unzustellbar|nicht zustellbar|non recapitabile|non remis|non distribu|"
    r"no entregado|zwrot|niedostarcz|error sending|message not delivered|delivery status|"
    r"エラー|不達|配信|送信できません|未送信|返送|"
    r"\bmail failed|returning (message )?to sender|\bfailed\b.{0,20}\b(mail|message)",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"could ?n[o']t be delivered|could not deliver|wasn'?t delivered|was not delivered|not been delivered|"
    r"(undeliverable|undelivered|undeliver)|delivery (has )?failed|failed to deliver|unable to deliver|"
    r"permanent (fatal )?error|delivery (to the following|failure|problem)|following (address|recipient)\S* (failed|"
    r"had)|"
    r"wasn'?t able to deliver|able to deliver your message|mail delivery (failed|software)|returned mail|"
    r"(message|mail) (was |has been )?(rejected|refused|blocked|returned)|did not reach|not reach the following|"
    r"error (occurred )?(while )?(delivering|during delivery|trying to deliver)|delivery (attempt|error)|"
    r"transcript of session|this is the (mail system|qmail-send program|mailer-daemon)|"
    r"(user|mailbox|recipient|address) (unknown|not found|unavailable|does ?n[o']t exist)|no such (user|mailbox)|"
    r"(remote|destination) (host|server|mail server) (said|responded|rejected|returned)|smtp error|"
    r"has not yet been delivered|will be retried|still (being )?retried|delivery .{0,30}(delayed|postponed)|"
    r"over ?quota|mailbox (is )?full|not delivered|not a valid (user|recipient|address|mailbox)|unknown host|"
    r"host unknown|no valid recipients|failed addresses|"
    r"送信できません|届きませんでした|配信できませんでした",
    re.IGNORECASE,
)
_UNMISTAKABLE = re.compile(
    r"this is the qmail-send program|this is the mail system at host|this message was created automatically by "
    r"mail delivery software|----- transcript of session follows -----|the following addresses had permanent fatal "
    r"errors|i'm afraid i wasn't able to deliver|delivery has failed to these recipients|"
    r"your message (did not reach|wasn't delivered to|could not be delivered to)|"
    r"(could not|couldn't|cannot|can't) be delivered to:?\s*<?[^\s@<>]+@[^\s@<>]+\.\w+",
    re.IGNORECASE,
)


def system_sender(msg: Message) -> bool:
    sender = mime.header(msg, "From")
    return bool(_SYSTEM_SENDER.search(sender)) or sender.strip() in ("", "<>")


def null_return_path(msg: Message) -> bool:
    return mime.header(msg, "Return-Path").replace(" ", "") == "<>"


def bounce_subject(msg: Message) -> bool:
    return bool(_BOUNCE_SUBJECT.search(mime.header(msg, "Subject")))


def failure_text(notice: str) -> bool:
    return bool(_FAILURE_TEXT.search(notice))


def looks_like_bounce(msg: Message, notice: str) -> bool:
    """Two kinds of evidence, or an unmistakable notice."""
    if _UNMISTAKABLE.search(notice):
        return True
    sender = system_sender(msg)
    subject = bounce_subject(msg)
    text = failure_text(notice)
    return (sender and (subject or text)) or (subject and text)


_SNIFF_BYTES = 96 * 1024


def _latin1(pattern: bytes) -> re2._Regexp:
    """An RE2 regex over raw bytes: one byte is one character, as in ``re``'s bytes patterns."""
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return re2.compile(pattern, options)


# One linear pass over the head finds, in order: a sign of a mail system (a report content type,
# a mail-system From or Sender, an empty From), the first Subject field, and the blank line that
# ends the head (the first ``\r?\n\r?\n`` or ``\r\r``). A sign decides at once; the blank line
# hands over to the body scan. Only the head's own fields count: a "From: MAILER-DAEMON" quoted in
# the body is not the From.
_HEAD_SCAN = _latin1(
    rb"(?i)(?P<end>\r?\n\r?\n|\r\r)|(?P<subject>(?:^|[\r\n])subject:)|multipart/report|feedback-report|delivery-status|"
    rb"(?:^|[\r\n])(?:from|sender):[^\r\n]{0,200}?(?:mailer[-_ ]?daemon|post[-_ ]?master|mail[-_ ]?daemon|"
    rb"mail delivery|delivery (?:sub)?system|mail system|mail administrator|mdaemon)|"
    rb"(?:^|[\r\n])from:[ \t]*(?:<>)?[ \t]*(?:[\r\n]|$)"
)
_SUBJECT = re.compile(rb"(?i)(?:^|[\r\n])subject:([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)")
# Any of these in the body (case-insensitive) lets a mail through to the real checks: DSN/ARF/SES
# field names and the phrases of ``_UNMISTAKABLE``.
_BODY_TOKENS = (
    b"final-recipient",
    b"original-recipient",
    b"original-rcpt-to",
    b"feedback-type",
    b"x-hmxmroriginalrecipient",
    b"notificationtype",
    b"eventtype",
    b"qmail-send program",
    b"mail system at host",
    b"by mail delivery software",
    b"transcript of session",
    b"permanent fatal errors",
    b"wasn't able to deliver",
    b"delivery has failed",
    b"did not reach",
    b"delivered to",
)
_BODY_SCAN = _latin1(b"(?i)" + b"|".join(re2.escape(token) for token in _BODY_TOKENS))


def may_be_report(raw: bytes) -> bool:
    """Cheap pre-check on the raw bytes: could the classifier say yes to this mail at all?

    Every yes needs one of: a report content type, a mail-system sender, a non-delivery
    subject (RFC 2047 words decoded), DSN/ARF/SES fields in the body, or an unmistakable notice
    phrase — the same evidence ``looks_like_bounce`` and the readers use.

    It runs on every inbound mail, in the worker's job, so the first 96 KiB are read once, by
    two linear-time RE2 scans: ``_HEAD_SCAN`` up to the blank line, ``_BODY_SCAN`` after it.
    Only a Subject field is read again, to decode it.
    """
    window = raw[:_SNIFF_BYTES]
    end, subject_at = len(window), -1
    for match in _HEAD_SCAN.finditer(window):
        if match.lastgroup == b"end":  # RE2 names the groups of a bytes pattern in bytes
            end = match.start()
            break
        if match.lastgroup != b"subject":
            return True
        if subject_at == -1:
            subject_at = match.start()
    if subject_at != -1 and _bounce_subject(window[:end], subject_at):
        return True
    return end < len(window) and _BODY_SCAN.search(window, end) is not None


def _bounce_subject(head: bytes, at: int) -> bool:
    """Whether the Subject field found at ``at`` reads, once decoded, as a non-delivery subject."""
    match = _SUBJECT.match(head, at)
    subject = match.group(1) if match else b""
    return _BOUNCE_SUBJECT.search(mime.decode_header_text(subject.decode("utf-8", "surrogateescape"))) is not None
