"""Rendering UI pages: the Jinja2 environment, the security headers every page carries, and the
static files.

Every page is served with a Content-Security-Policy that allows scripts, styles and connections
from our own origin only (no inline script, no ``eval``), may not be framed by anyone, and is
never cached: pages show mail. The email HTML itself is served by ``service.ui.body`` under its
own, much stricter policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from service.moments import as_utc

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        # The message view frames /ui/messages/{id}/body (same origin, sandboxed).
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: str | datetime | None) -> str:
    """An ISO timestamp as ``2026-12-04 15:52:03`` (UTC); the page's script shows local time."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def _size(value: int | None) -> str:
    amount = float(value or 0)
    for unit in ("B", "KB", "MB"):
        if amount < 1024 or unit == "MB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} MB"


ENV = Environment(
    loader=PackageLoader("service.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = _when
ENV.filters["size"] = _size


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """A full page (or fragment) with the page security headers."""
    html = ENV.get_template(template).render({"request": request, **context})
    return HTMLResponse(html, status_code, headers=PAGE_HEADERS)


def with_page_headers(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class UiStatic(StaticFiles):
    """``service/ui/static`` (package data), with ``nosniff`` and a short cache lifetime: the files
    change only with a Mailhook upgrade, and a stale script for a minute is harmless."""

    def __init__(self) -> None:
        super().__init__(packages=[("service.ui", "static")])

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "public, max-age=60"
        return response
