"""Every corpus message read the raw-HTTP way and the SMTP way gives the same header fields.

In-process (``RawMime.parse`` and ``build_email`` on the SMTP wire form), so it covers all of
``shared/corpora`` in seconds; ``tests/test_mime_paths.py`` does the same for a sample over real
HTTP and SMTP. Before the two paths shared ``service.mime.headers``, 68 of 1,029 messages differed
(encoded-words decoded in SMTP's stored headers only, obsolete syntax, defect names).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from service.config import SourceConfig
from service.errors import MailhookError
from service.providers.base import Delivery
from service.providers.raw import RawMime
from service.smtp.config import SmtpConfig
from service.smtp.message import SmtpEnvelope, build_email
from tests.corpora.ingest_support import DOMAIN, collect, smtp_wire_form

pytestmark = pytest.mark.corpus

COMPARED = ("headers", "defects", "header_from", "to", "cc", "reply_to", "subject", "message_id", "date")


def test_raw_http_and_smtp_read_every_corpus_message_alike(corpora_dir: Path) -> None:
    source = SourceConfig(name="raw", provider="raw", secrets=[SecretStr("corpus-only-not-a-secret")])
    smtp = SmtpConfig(domains=[DOMAIN], addy_recovery=False)
    envelope = SmtpEnvelope("sender@example.net", [f"corpus@{DOMAIN}"])
    messages = collect(corpora_dir).messages
    assert len(messages) > 1000, "the corpus looks incomplete"
    differing = []
    for message in messages:
        try:
            [http] = RawMime().parse(Delivery(source, message.data, {"content-type": "message/rfc822"}, {}))
        except MailhookError:
            continue  # refused over HTTP (an empty body): nothing to compare
        over_smtp = build_email(smtp_wire_form(message.data), envelope, smtp)
        differing += [(message.name, field) for field in COMPARED if getattr(http, field) != getattr(over_smtp, field)]
    assert differing == [], differing[:50]
