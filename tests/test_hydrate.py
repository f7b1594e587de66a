"""Raw-MIME messages get text, HTML and attachment rows from the worker before routing."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.models import Attachment, Message
from tests.support.deliveries import SECRETS, SOURCES_YAML

ROUTE_ON_BODY = """
routes:
  - name: by-body
    when: {field: text, op: contains, value: "magic words"}
    pipeline: default
"""


@pytest.fixture(autouse=True)
def _config(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML + ROUTE_ON_BODY)


def _mime() -> bytes:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.org>"
    message["To"] = "qa@example.com"
    message["Subject"] = "Report"
    message["Message-ID"] = "<hydrate-1@example.org>"
    message.set_content("The magic words are in the body.\n")
    message.add_alternative("<p>The <b>magic words</b> are in the body.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="report.pdf")
    return message.as_bytes()


async def test_raw_mime_is_hydrated_once_and_routes_see_its_body(
    settings: Settings, client: httpx.AsyncClient, run_worker: Callable[..., Any]
) -> None:
    response = await client.post(
        f"/hooks/raw/{SECRETS['raw']}?to=qa@example.com",
        content=_mime(),
        headers={"content-type": "message/rfc822"},
    )
    assert response.status_code == 200, response.text
    await run_worker()
    with Session(make_engine(settings)) as session:
        [message] = session.exec(select(Message))
        attachments = list(session.exec(select(Attachment)))
    assert message.status == "processed", message.error  # routed by a body-only condition
    assert message.parsed_at is not None
    assert message.text is not None and "magic words" in message.text
    assert message.html is not None and "<b>magic words</b>" in message.html
    [pdf] = attachments
    assert (pdf.filename, pdf.content_type, pdf.size) == ("report.pdf", "application/pdf", 13)
    assert BlobStore(settings.blob_dir).read(pdf.sha256) == b"%PDF-1.4 fake"
