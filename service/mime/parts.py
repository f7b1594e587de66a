"""Pick the subject and the first text/plain and text/html bodies out of a parsed message.

The extractors work on strings, not on MIME trees; this is the one small bridge between the
two so that tests and callers do not each reimplement part walking. Attachments are skipped:
a code inside an attached file is not one the sender meant the reader to type.
"""

from __future__ import annotations

import email.message

__all__ = ["sender_name", "subject_text_html"]


def _part_content(part: email.message.EmailMessage) -> str | None:
    """Decode one leaf part to str, tolerating unknown charsets and broken encodings."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else None


def subject_text_html(msg: email.message.EmailMessage) -> tuple[str | None, str | None, str | None]:
    """Return ``(subject, text, html)``; each is ``None`` when the message has no such part.

    The first non-attachment ``text/plain`` and ``text/html`` leaves win, which matches
    what a mail client shows for ``multipart/alternative`` and ``multipart/mixed`` mail.
    """
    subject_header = msg.get("subject")
    subject = str(subject_header) if subject_header is not None else None
    text: str | None = None
    html: str | None = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        subtype = part.get_content_subtype()
        if subtype == "plain" and text is None:
            text = _part_content(part)
        elif subtype == "html" and html is None:
            html = _part_content(part)
    return subject, text, html


def sender_name(msg: email.message.EmailMessage) -> str | None:
    """The display name of the From address (``Acme Security``), or ``None``.

    ``find_code`` reads it as weak evidence; an unparsable From header is simply no evidence.
    """
    try:
        addresses = getattr(msg["from"], "addresses", ())
    except (IndexError, TypeError, ValueError):  # the stdlib's header parser can fail on hostile input
        return None
    return next((address.display_name for address in addresses if address.display_name), None)
