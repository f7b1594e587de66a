"""Bounce-mail classifier: DSNs, MTA notices and feedback reports to one ``BounceReport``.

Pure functions over raw bytes, no I/O. ``classify(raw)`` returns ``None`` for mail that is not
a bounce (ordinary mail, auto-replies, challenge-response, success DSNs) and never raises;
``classify_with_defects(raw)`` also returns the defects met, so a caller can store a mail the
classifier could not read with a defect instead of losing it.

Modules, one job each: ``mime`` (lenient MIME reads), ``fields`` (RFC 822 field blocks),
``dsn`` (RFC 3464), ``arf`` (RFC 5965 complaints), ``autoreply`` (RFC 3834 and challenges),
``signals`` (does a plain mail look like a bounce), ``text`` (recipients in notice text),
``original`` (the returned original), ``ses`` (SES notifications by mail), ``causes`` + ``status``
(kind and reason), ``classifier`` (the entry point).
"""

from workers.bounces.classifier import classify, classify_with_defects

__all__ = ["classify", "classify_with_defects"]
