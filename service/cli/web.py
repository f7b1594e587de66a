"""The web app as Mailhook runs it: ``service.web.app.create_app`` with the worker-side MIME reader
and code/link extractors plugged into the read API (``service`` never imports ``workers``; this
composition root is where the two halves meet).

``create_web_app`` is also the import string uvicorn calls in each process of
``mailhook serve --workers N``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from service.mime.body import parse_mime
from service.settings import Settings
from service.web.app import create_app
from workers.extract import find_code, find_links


class ExtractorReader:
    """``service.api.content.ContentReader`` over the extractors ``mailhook inspect`` uses."""

    def parse(self, raw: bytes, *, with_data: bool = False) -> dict[str, Any]:
        return parse_mime(raw, with_data=with_data)

    def find_code(
        self, subject: str | None, text: str | None, html: str | None, *, sender: str | None = None
    ) -> str | None:
        return find_code(subject, text, html, sender=sender)

    def find_links(self, text: str | None, html: str | None) -> list[str]:
        return find_links(text, html)


def create_web_app(settings: Settings | None = None) -> Starlette:
    return create_app(settings, reader=ExtractorReader())
