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
_HEAD_END = re.compile(rb"\r?\n\r?\n|\r\r")
_HEAD_SIGNS = re.compile(
    rb"(?i)multipart/report|feedback-report|delivery-status|"
    rb"(?:^|[\r\n])(from|sender):[^\r\n]{0,200}?(mailer[-_ ]?daemon|post[-_ ]?master|mail[-_ ]?daemon|mail delivery|"
    rb"delivery (sub)?system|mail system|mail administrator|mdaemon)|(?:^|[\r\n])from:[ \t]*(<>)?[ \t]*(?:[\r\n]|$)"
)
_SUBJECT = re.compile(rb"(?i)(?:^|[\r\n])subject:([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)")
# Lower-cased byte strings, any of which in the body lets a mail through to the real checks:
# DSN/ARF/SES field names and the phrases of ``_UNMISTAKABLE`` (substring tests are ~100x
# faster than the regex over a 30 KB newsletter, and this runs on every inbound mail).
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


def may_be_report(raw: bytes) -> bool:
    """Cheap pre-check on the raw bytes: could the classifier say yes to this mail at all?

    Every yes needs one of: a report content type, a mail-system sender, a non-delivery
    subject (any encoded subject is let through), DSN/ARF/SES fields in the body, or an
    unmistakable notice phrase — the same evidence ``looks_like_bounce`` and the readers use.

    It runs on every inbound mail, in the worker's job, so the head is read with substring
    searches first: the answers are exactly those of ``_HEAD_END``, ``_HEAD_SIGNS`` and
    ``_SUBJECT`` (the regexes run only where a substring says they may match), at a fifth
    of their cost on a typical 2 KB header block.
    """
    head = raw[: _head_end(raw)]
    lowered = head.lower()
    if _head_signs(head, lowered):
        return True
    subject = _subject(head, lowered)
    if subject is not None and _BOUNCE_SUBJECT.search(
        mime.decode_header_text(subject.decode("utf-8", "surrogateescape"))
    ):
        return True
    body = raw[len(head) : _SNIFF_BYTES].lower()
    return any(token in body for token in _BODY_TOKENS)


# ``_HEAD_END`` matches where one of these starts (the leftmost wins); ``_HEAD_SIGNS`` needs one of
# ``_HEAD_WORDS`` unless it matches an empty From.
_BLANK_LINES = (b"\r\n\r\n", b"\r\n\n", b"\n\r\n", b"\n\n", b"\r\r")
_HEAD_WORDS = (
    b"multipart/report",
    b"feedback-report",
    b"delivery-status",
    b"daemon",
    b"master",
    b"mail delivery",
    b"delivery system",
    b"delivery subsystem",
    b"mail system",
    b"mail administrator",
)


def _head_end(raw: bytes) -> int:
    """Where ``_HEAD_END.search(raw, 0, _SNIFF_BYTES)`` starts, else ``_SNIFF_BYTES``."""
    end = _SNIFF_BYTES
    for blank in _BLANK_LINES:
        found = raw.find(blank, 0, min(end + len(blank), _SNIFF_BYTES))
        if found != -1:
            end = min(end, found)
    return end


def _line_starts(head: bytes, lowered: bytes, name: bytes) -> list[int]:
    """Offsets where a header field ``name`` (lower-case, with its colon) starts a line."""
    found, at = [], lowered.find(name)
    while at != -1:
        if at == 0 or head[at - 1] in b"\r\n":
            found.append(at)
        at = lowered.find(name, at + 1)
    return found


def _head_signs(head: bytes, lowered: bytes) -> bool:
    """``_HEAD_SIGNS.search(head)``."""
    if any(word in lowered for word in _HEAD_WORDS):
        return _HEAD_SIGNS.search(head) is not None
    for at in _line_starts(head, lowered, b"from:"):  # the one sign without a word: an empty From
        value = re.split(rb"[\r\n]", head[at + 5 :], maxsplit=1)[0].strip(b" \t")
        if value in (b"", b"<>"):
            return True
    return False


def _subject(head: bytes, lowered: bytes) -> bytes | None:
    """``_SUBJECT.search(head).group(1)``, or None."""
    starts = _line_starts(head, lowered, b"subject:")
    if not starts:
        return None
    match = _SUBJECT.match(head, max(starts[0] - 1, 0))
    return match.group(1) if match else None
