"""From a DSN status (RFC 3463), an SMTP reply code and the remote MTA's text to kind and reason.

The order follows what the codes can be trusted for. A few enhanced codes are precise and
always right (``x.2.2`` mailbox full, ``x.3.4`` too large, ``x.1.6`` moved); most are used
loosely (``5.1.1`` for spam blocks, ``5.7.1`` for unknown users, ``5.0.0`` for anything), so
for those the text decides and the code is only the fallback. ``hard`` then follows from the
cause (see ``service.mail.bounce``), never from the first digit alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.mail.bounce import Kind, Reason
from workers.bounces.causes import CAUSES, Cause, filtering_receiver, specific_cause, terse_unknown_user, weak_cause

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REMOTE_STATUS = re.compile(r"\b[245]\d\d[ -]['\"#]?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY = re.compile(r"(?<![\d.#-])([245][0-5]\d)(?=[ -]|$)(?![ -]?\d{3,})")
_ADDRESS = re.compile(r"[^\s<>\"'()\[\]]+@[^\s<>\"'()\[\]]+")
_URL = re.compile(r"\b(?:https?|ftp)://([^/\s?#]+)\S*", re.IGNORECASE)  # keep the host, drop the path

# Enhanced codes whose meaning is specific enough to beat the text.
_STICKY: dict[str, Cause] = {
    "2.2": "mailbox_full",
    "2.3": "too_large",
    "3.4": "too_large",
    "1.6": "has_moved",
    "1.10": "not_accept",
}
# Enhanced codes used as the fallback when the text says nothing recognisable.
_BY_STATUS: dict[str, Cause] = {
    "1.1": "user_unknown",
    "1.0": "user_unknown",
    "1.3": "user_unknown",
    "2.1": "suspend",
    "1.2": "host_unknown",
    "4.4": "host_unknown",
    "1.8": "policy",
    "1.7": "policy",
    "3.1": "other",
    "4.7": "expired",
    "4.1": "other",
    "4.2": "other",
    "2.0": "other",
    "3.0": "other",
    "3.2": "not_accept",
}


_COMMAND = re.compile(
    r"(?P<explicit>in reply to (?:end of )?(?:DATA|RCPT TO|MAIL FROM)|\bafter (?:end of data|DATA|RCPT TO|MAIL FROM)\b|"
    r"SMTP command\W{0,20}(?:DATA|RCPT|MAIL)\b|most progress was (?:RCPT TO|DATA)|\[RCPT_TO\]|does not like recipient)|"
    r"(?P<sent>>>>\s*(?:DATA|RCPT TO|MAIL FROM))|(?P<reply><<<\s*[45]\d\d)",
    re.IGNORECASE,
)
_TRANSIENT_DNS = re.compile(r"not found, try again|temporar|malformed or unexpected|servfail", re.IGNORECASE)
_FAILED_REPLY = re.compile(r"\s*<<<\s*[45]\d\d")
_HARD_CAUSES = frozenset({"user_unknown", "has_moved", "host_unknown", "not_accept"})


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: Reason


def find_status(text: str | None) -> str | None:
    """The first RFC 3463 code (``5.1.1``) in the text, normalised."""
    if not text:
        return None
    match = _STATUS.search(text)
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}" if match else None


def find_reply_code(text: str | None) -> int | None:
    """The first SMTP reply code (``550``) in the text: a 3-digit 2xx/4xx/5xx word."""
    if not text:
        return None
    match = _REPLY.search(text)
    return int(match.group(1)) if match else None


def normalise_status(value: str | None) -> str | None:
    status = find_status(value)
    if status and status.startswith("2."):
        return status
    return status


def remote_status(text: str | None) -> str | None:
    """The enhanced code the remote server put after its reply code (``550-5.7.1``, ``550 '5.7.1``)."""
    match = _REMOTE_STATUS.search(text or "")
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}" if match else None


def better_status(declared: str | None, diagnostic: str | None) -> str | None:
    """The remote server's own enhanced code when it gave one in the same class, else the DSN
    ``Status``: reporting MTAs write ``5.0.0``, or ``4.4.7`` when they give up, or their own
    mapping, where the remote said ``550 5.7.1``."""
    stated = remote_status(diagnostic) or find_status(diagnostic)
    if declared is None:
        return stated
    if stated and stated[0] == declared[0] and not stated.endswith(".0.0"):
        if declared.endswith((".0.0", ".4.7")) or stated == remote_status(diagnostic):
            return stated
    return declared


def rcpt_failed(notice: str, address: str) -> str | None:
    """``"RCPT"`` when a transcript shows this recipient's own RCPT TO answered with 4xx/5xx."""
    wanted = address.lower()
    lines = notice.lower().splitlines()
    for index, line in enumerate(lines[:-1]):
        if ">>>" in line and "rcpt to" in line and wanted in line and _FAILED_REPLY.match(lines[index + 1]):
            return "RCPT"
    return None


def _precise_address_status(status: str | None) -> bool:
    """``x.1.y`` with y > 0: the server named an addressing failure, not a generic one."""
    parts = (status or "").split(".")
    return len(parts) == 3 and parts[1] == "1" and parts[2] != "0"


def find_command(text: str | None) -> str | None:
    """The SMTP command the (first) failure answered: ``DATA``, ``RCPT`` or ``MAIL``.

    Postfix and Exim name it ("in reply to end of DATA command", "after RCPT TO"); a Sendmail
    transcript shows it as the last ``>>>`` line before the first ``<<< 5xx`` (Sendmail goes on
    to send DATA after a failed RCPT, so the last command in the transcript is not the one).
    """
    if not text:
        return None
    current: str | None = None
    for match in _COMMAND.finditer(text):
        if match.group("reply"):
            if current:
                return current
            continue
        word = _command_word(match.group(0))
        if match.group("explicit"):
            return word
        current = word
    return current


def _command_word(phrase: str) -> str:
    upper = phrase.upper()
    if "RECIPIENT" in upper or "RCPT" in upper:
        return "RCPT"
    if "DATA" in upper:
        return "DATA"
    return "MAIL" if "MAIL" in upper else "RCPT"


def cause_of(status: str | None, reply_code: int | None, text: str | None) -> Cause:
    """The cause of one recipient's failure from everything the report says about it."""
    detail = status.split(".", 1)[1] if status else None
    if detail in _STICKY:
        return _STICKY[detail]
    clean = _URL.sub(r" \1 ", _ADDRESS.sub(" ", text or ""))
    cause = specific_cause(clean)
    if cause is not None:
        return cause
    by_status = _BY_STATUS.get(detail or "") or ("policy" if detail and detail.startswith(("7.", "6.")) else None)
    if by_status is not None:
        return by_status
    cause = weak_cause(clean)
    if cause is not None:
        return cause
    if reply_code in (550, 551, 553) and not status:
        return "user_unknown" if reply_code != 553 else "other"
    if reply_code == 552 and not status:
        return "mailbox_full"
    return "other"


def verdict(
    status: str | None,
    reply_code: int | None,
    text: str | None,
    *,
    delayed: bool = False,
    command: str | None = None,
    address: str = "",
) -> Verdict:
    """Kind and reason of one failed (or, with ``delayed``, still retried) recipient.

    Only a permanent failure at the recipient can make the address dead: an "unknown user"
    answered to DATA came after the server had accepted the recipient (a content filter
    speaking), one answered to MAIL FROM is about the sender, and a 4xx is temporary by
    definition — none of those is ``hard``.
    """
    cause = cause_of(status, reply_code, text)
    if cause == "user_unknown" and terse_unknown_user(text):
        # a bare "user unknown" answered to DATA (after the server accepted the recipient) or
        # under a policy status (5.7.x) is a filter speaking, not proof the mailbox is gone
        if (command == "DATA" and not _precise_address_status(status)) or (status or "")[2:4] == "7.":
            cause = "policy"
        elif command is None and filtering_receiver(address) and address.lower() not in (text or "").lower():
            # at RCPT these carriers name the address; their filters' DATA-stage answer cannot
            cause = "policy"
    if cause in _HARD_CAUSES and command == "MAIL":
        cause = "policy"
    if cause == "user_unknown" and (status or "")[2:] == "2.1" and command != "RCPT":
        cause = "suspend"  # x.2.1 is "mailbox disabled"; "unknown" is believed only when said to RCPT
    temporary = (status or str(reply_code or ""))[:1] == "4"
    if cause == "host_unknown" and (temporary or _TRANSIENT_DNS.search(text or "")):
        cause = "other"
    reason, hard = CAUSES[cause]
    # a failed DSN's 4.1.1 still names an unknown user (Postfix's soft-bounce testing mode);
    # only the domain and host verdicts are doubtful when temporary
    hard = hard and not (temporary and cause != "user_unknown")
    if delayed:
        return Verdict("delayed", reason)
    return Verdict("hard" if hard else "soft", reason)


_SEVERITY: dict[Kind, int] = {"hard": 3, "complaint": 4, "soft": 2, "delayed": 1}


def worst(kinds: list[Kind]) -> int:
    return max((_SEVERITY[k] for k in kinds), default=0)


def severity(kind: Kind) -> int:
    return _SEVERITY[kind]
