"""Failed recipients and their error text in a human-readable bounce notice.

Most MTAs that send no DSN (qmail, Exim, Postfix and Sendmail in their plain modes, Exchange
2003, Domino, Yahoo, Gmail's old notices, many appliances) still write the same few shapes:

* the address alone on a line, or first on its line (``<a@b>:``, ``a@b [User unknown]``,
  ``a@b on <date>``), followed by indented or adjacent error lines (qmail, Postfix, Exim, Exchange);
* a labelled address (``Recipient:``, ``Failed recipient:``, ``Original-Recipient:``, ``RCPT TO:<a@b>``);
* a sentence (``... could not be delivered to a@b``, ``Your message to a@b was rejected``);
* an SMTP transcript (``<<< 550 5.1.1 <a@b>... User unknown``).

Addresses of the notice's own parties (its From/To, the original's sender, postmaster and
mailer-daemon) are never recipients. When the notice names no address at all, the returned
original's ``To`` is taken (old Sendmail, Exchange with display names only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.bounces.causes import text_cause
from workers.bounces.found import Found, clean_address
from workers.bounces.status import find_reply_code, find_status, remote_status

_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9#\[\]._-]+\.[A-Za-z0-9\]-]{2,}"
ADDRESS = re.compile(_ADDR)
_SYSTEM_LOCAL = re.compile(
    r"^(mailer-?daemon|postmaster|mail-?daemon|maildelivery|mail-?delivery-?(system|subsystem)?|"
    r"nobody|abuse|bounces?|no-?reply|root)$",
    re.IGNORECASE,
)
_LEAD = r"^[\s>*\-•|#]*(?:[45]\d\d[ -]+)?[\"'<(\[]?"
_LISTED = re.compile(_LEAD + rf"(?:(?:mailto:)?)({_ADDR})")
_LABELLED = re.compile(
    r"\b(recipient(?:\(s\))?|failed recipient|intended recipient|undeliverable address|original-recipient|"
    r"final-recipient|target mail address|rcpt to|address|addressee)\s*[:=]?\s*(?:rfc822;\s*)?"
    rf"[\"'<(\[]*(?:SMTP:)?({_ADDR})",
    re.IGNORECASE,
)
_SENTENCE = re.compile(
    r"(deliver\w*|sent|send|message|mail|mailbox|full|quota|unknown|invalid|reach|error|failed|fail|rejected|bounced|"
    r"problem|unable|"
    r"could not|couldn't|wasn't|was not|not be|undeliverable|recipient|address|attempts?)\b[^@\n]{0,60}"
    r"(\b(?:to|for|at|address|recipient)\b|:)"
    rf"\s*:?\s*[\"'<(\[]*({_ADDR})",
    re.IGNORECASE,
)
_NOT_RECIPIENT_LINE = re.compile(
    r"^\s*(message-id|in-reply-to|references|from|sender|reply-to|return-path|mail from)\s*:", re.IGNORECASE
)
_SENDER_LABEL = re.compile(r"\b(sent by|from|sender)\s*:?\s*$", re.IGNORECASE)
# A line that starts the next transcript entry or recipient rather than continuing this one.
_NEW_ENTRY = re.compile(rf"{_LEAD}{_ADDR}|^([45]\d\d[ -]|>>>|<<<|while talking to|-{{3,}}|={{3,}})", re.IGNORECASE)
_NOTE = re.compile(r"^[\s:>.\])\"']*(\.\.\.)?\s*")
_MAX_DIAG_LINES = 8


def read(notice: str, own: set[str], sender: str = "", fallback_to: Iterable[str] = ()) -> list[Found]:
    """Recipients the notice reports, with the error text found for each, in notice order."""
    lines = [line.rstrip() for line in _dequote(notice).splitlines()]
    found: dict[str, Found] = {}
    for index, line in enumerate(lines):
        if _NOT_RECIPIENT_LINE.match(line) or _after_sender_label(lines, index):
            continue
        for address, end in _addresses_on(line, own, sender.lower()):
            key = address.lower()
            diagnostic = _diagnostic(lines, index, end)
            candidate = _found(address, diagnostic)
            found[key] = found[key].filled_from(candidate) if key in found else candidate
    if not found:
        for value in fallback_to:
            original = clean_address(value)
            if original and original.lower() not in own and not _system(original):
                found.setdefault(original.lower(), Found(address=original))
    transcript = _transcript_lines(lines)
    alone = len(found) == 1
    return [_with_transcript(f, transcript, alone) for f in found.values()]


def _after_sender_label(lines: list[str], index: int) -> bool:
    """An address listed right under "A message sent by" / "from" is the sender (Exim, Sendmail)."""
    previous = next((line for line in reversed(lines[max(0, index - 3) : index]) if line.strip()), "")
    return _SENDER_LABEL.search(previous) is not None


def general_diagnostic(notice: str, subject: str = "") -> str | None:
    """The notice's most telling error line: one with an SMTP code, else one naming a known
    failure, else a subject that names one (``Returned mail: User unknown``)."""
    lines = [line.strip() for line in _dequote(notice).splitlines() if line.strip()]
    for line in lines:
        if find_reply_code(line) and (find_status(line) or re.search(r"[A-Za-z]{3}", line)):
            return line[:1000]
    for line in lines:
        if text_cause(ADDRESS.sub(" ", line)) is not None:
            return line[:1000]
    return subject if text_cause(subject) is not None else None


def _dequote(text: str) -> str:
    """Forwarded bounces quote the notice with '> '; the shapes below are found unquoted."""
    quoted = sum(1 for line in text.splitlines() if line.startswith(">"))
    return re.sub(r"(?m)^(> ?)+", "", text) if quoted > 3 else text


def _addresses_on(line: str, own: set[str], sender: str) -> list[tuple[str, int]]:
    """The recipient addresses a line names, each with the column where its error text starts."""
    if "@" not in line:
        return []
    results: list[tuple[str, int]] = []
    for pattern, group in ((_LISTED, 1), (_LABELLED, 2), (_SENTENCE, 3)):
        for match in pattern.finditer(line):
            address = clean_address(match.group(group))
            # An address listed on its own line is a recipient even when it is also the notice's
            # addressee (mail to oneself) or a postmaster mailbox; in prose those are the parties.
            listed = pattern is _LISTED
            if address and (
                listed
                and address.lower() != sender
                or not listed
                and address.lower() not in own
                and not _system(address)
            ):
                if all(address.lower() != a.lower() for a, _ in results):
                    results.append((address, match.end(group)))
        if results:
            break
    return results


def _system(address: str) -> bool:
    return _SYSTEM_LOCAL.match(address.rpartition("@")[0]) is not None


def _diagnostic(lines: list[str], index: int, column: int) -> str | None:
    """The rest of the address's line and the lines that continue it, up to a blank line or the
    next listed address."""
    parts = [_NOTE.sub("", lines[index][column:]).strip()]
    previous = lines[index]
    for line in lines[index + 1 : index + 1 + _MAX_DIAG_LINES]:
        continues = line.startswith((" ", "\t")) or previous.rstrip().endswith(":")  # "Remote host said:"
        if not line.strip() or (_NEW_ENTRY.match(line) and not continues):
            break
        parts.append(line.strip())
        previous = line
    text = " ".join(part for part in parts if part).strip(" ()[]<>:")
    return text[:2000] or None


def _found(address: str, diagnostic: str | None) -> Found:
    status = remote_status(diagnostic) or find_status(diagnostic)
    return Found(address=address, status=status, reply_code=find_reply_code(diagnostic), diagnostic=diagnostic)


def _transcript_lines(lines: list[str]) -> list[str]:
    """SMTP replies quoted in the notice (``<<< 550 ...``, ``550-5.1.1 ...``, ``said: 550 ...``)."""
    return [
        line.strip()
        for line in lines
        if re.search(r"(^\s*(<<<\s*)?[45]\d\d[ -])|(said:?\s*[45]\d\d)|(\b[45]\.\d{1,3}\.\d{1,3}\b)", line)
    ]


def _with_transcript(found: Found, transcript: list[str], alone: bool) -> Found:
    """Fill a recipient's missing code or text from the transcript line that names it (or the
    only failing line when the notice reports one recipient)."""
    if found.status and found.reply_code:
        return found
    naming = [line for line in transcript if found.address.lower() in line.lower()]
    for line in naming or (transcript[:1] if alone else []):
        return found.filled_from(_found(found.address, line))
    return found
