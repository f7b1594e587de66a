"""The same message gives the same stored headers, fields and defects over raw HTTP and SMTP.

Each message is POSTed to a ``raw`` source of the running app and sent to the SMTP server over
loopback (where it travels in its wire form: CRLF line endings); both rows are then compared
field by field. The messages are the MIME fixtures plus corpus messages chosen for what used to
differ between the two paths (encoded-words in stored headers, obsolete header syntax, bad
dates, 8-bit and NUL bytes in headers). Envelope and provider differ by design; addy.io
recovery is switched off, since it rewrites SMTP mail on purpose.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest

from service.settings import Settings
from tests.support.deliveries import SOURCES_YAML, HttpDelivery, post, stored_messages
from tests.support.smtp import running_smtp

FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
CORPUS_MESSAGES = (
    "mime/ruby-mail/spec/fixtures/emails/rfc2822/example13.eml",
    "mime/ruby-mail/spec/fixtures/emails/error_emails/bad_encoded_subject.eml",
    "mime/ruby-mail/spec/fixtures/emails/error_emails/invalid_subject_characters.eml",
    "mime/ruby-mail/spec/fixtures/emails/error_emails/bad_date_header.eml",
    "mime/spamscope-mail-parser/tests/mails/mail_test_9",
    "mime/spamscope-mail-parser/tests/mails/mail_outlook_1",
    "bounces/sisimai/maildir/bsd/lhost-domino-02.eml",
)
COMPARED = ("headers", "defects", "from_name", "from_address", "to", "cc", "reply_to", "subject", "message_id", "date")
DOMAIN = "in.example.com"


@pytest.fixture(autouse=True)
def _config(settings: Settings) -> None:
    """A ``raw`` source and an SMTP domain, written before the app starts."""
    settings.config.write_text(SOURCES_YAML + f"smtp:\n  domains: [{DOMAIN}]\n  addy_recovery: false\n")


def _messages() -> dict[str, bytes]:
    found = {path.name: path.read_bytes() for path in sorted((FIXTURES / "mime").glob("*.eml"))}
    found["otp.eml"] = (FIXTURES / "raw" / "otp.eml").read_bytes()
    if not CORPORA.is_dir():
        if os.environ.get("MAILHOOK_REQUIRE_CORPORA") == "1":
            pytest.fail(f"MAILHOOK_REQUIRE_CORPORA=1 but {CORPORA} is missing")
        return found
    return found | {name: (CORPORA / name).read_bytes() for name in CORPUS_MESSAGES}


async def _post_raw(client: httpx.AsyncClient, index: int, data: bytes) -> str:
    delivery = HttpDelivery(data, {"content-type": "message/rfc822"}, [("to", f"http{index}@{DOMAIN}")])
    response = await post(client, "raw", delivery)
    assert response.status_code == 200, response.text
    [stored] = response.json()["messages"]
    assert not stored["duplicate"]
    return str(stored["id"])


async def _send_smtp(port: int, index: int, data: bytes) -> str:
    errors, reply = await aiosmtplib.send(
        data, sender="sender@example.net", recipients=[f"smtp{index}@{DOMAIN}"], hostname="127.0.0.1", port=port
    )
    assert not errors and " stored as " in reply, reply
    return reply.rsplit(" ", 1)[-1]


def _fields(row: Any) -> dict[str, Any]:
    return {name: json.loads(json.dumps(getattr(row, name), default=str)) for name in COMPARED}


async def test_raw_http_and_smtp_store_the_same_headers_fields_and_defects(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    messages = _messages()
    pairs: dict[str, tuple[str, str]] = {}
    async with running_smtp(settings) as port:
        for index, (name, data) in enumerate(messages.items()):
            pairs[name] = (await _post_raw(client, index, data), await _send_smtp(port, index, data))
    rows = {row.id: row for row in stored_messages(settings)}
    differences = []
    for name, (http_id, smtp_id) in pairs.items():
        http, smtp = _fields(rows[http_id]), _fields(rows[smtp_id])
        assert (rows[http_id].provider, rows[smtp_id].provider) == ("raw", "smtp")
        differences += [(name, field, http[field], smtp[field]) for field in COMPARED if http[field] != smtp[field]]
    assert differences == [], "\n".join(f"{n}: {f}\n  http {h!r:.300}\n  smtp {s!r:.300}" for n, f, h, s in differences)
    assert any(rows[http_id].defects for http_id, _ in pairs.values()), "no message with defects: a weak comparison"
