"""No one-time code is extracted from bounce mail, nor from the odd MIME of the corpora.

A delivery status notification quotes SMTP replies, queue ids, status codes ("5.1.1"),
diagnostic codes and often the whole returned message: every kind of code-shaped token next to
the word "code". None of them is a code for anyone to type, so every message under
``shared/corpora/bounces`` (and ``mime``, hostile and malformed mail) must yield ``None``.
"""

from __future__ import annotations

import email
import email.message
import email.policy
from pathlib import Path

import pytest

from service.mime.parts import sender_name, subject_text_html
from tests.corpora.ingest_support import collect
from workers.extract import find_code

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("folder", ["bounces", "mime"])
def test_no_code_in_mail_that_carries_none(corpora_dir: Path, folder: str) -> None:
    corpus = collect(corpora_dir, [folder])
    assert corpus.messages, f"no messages under corpora/{folder}"
    found = []
    for message in corpus.messages:
        msg = email.message_from_bytes(message.data, policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        subject, text, html = subject_text_html(msg)
        code = find_code(subject, text, html, sender=sender_name(msg))
        if code is not None:
            found.append((message.name, code))
    assert found == [], f"{len(found)} of {len(corpus.messages)} messages yielded a code"
