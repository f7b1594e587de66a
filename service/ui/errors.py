"""The UI's errors and how they are answered: HTML pages for people, a redirect to sign-in for
pages opened without a session, a bare status for scripts (``fetch`` and ``EventSource``).

    UiError
    ├── SignInRequired   401  no session, or it expired, or its token was revoked
    ├── BadRequest       400  a malformed form or search
    ├── NotAllowed       403  the session's token lacks the scope (replay needs ``admin``)
    ├── CsrfRefused      403  a state-changing request without this session's CSRF token
    ├── OriginRefused    403  a request sent by another origin
    └── PageNotFound     404

They sit beside ``service.errors`` (JSON for the API and hooks) in the app's one handler table.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ExceptionHandler

from service.ui.pages import PAGE_HEADERS, render


class UiError(Exception):
    """Base of the UI's errors; a subclass names its HTTP status and page title in the class
    statement (``class PageNotFound(UiError, status_code=404, title="Not found")``)."""

    status_code = 500
    title = "Something went wrong"

    def __init_subclass__(cls, *, status_code: int | None = None, title: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status_code is not None:
            cls.status_code = status_code
        if title is not None:
            cls.title = title

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignInRequired(UiError, status_code=401, title="Sign in required"):
    """No session, or it expired, or its token was revoked: pages redirect to sign-in."""


class BadRequest(UiError, status_code=400, title="Bad request"):
    """A malformed form or search."""


class NotAllowed(UiError, status_code=403, title="Not allowed"):
    """The session's token lacks the scope (replay needs ``admin``)."""


class CsrfRefused(UiError, status_code=403, title="Form expired"):
    """A state-changing request without this session's CSRF token."""


class OriginRefused(UiError, status_code=403, title="Refused"):
    """A request sent by another origin."""


class PageNotFound(UiError, status_code=404, title="Not found"):
    """No such page, message, source or list entry."""


def _page_request(request: Request) -> bool:
    """A person's navigation (not our script's ``fetch`` or ``EventSource``): browsers say so in
    ``Sec-Fetch-Mode``; other clients by asking for HTML."""
    if request.method != "GET":
        return False
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in request.headers.get("accept", "")


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path inside ``/ui`` only (never another site: ``//evil``)."""
    if not path or not path.startswith("/ui") or path.startswith("//") or "\\" in path:
        return "/ui"
    return path


async def ui_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UiError)
    if isinstance(exc, SignInRequired) and _page_request(request):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/ui/signin?next=" + quote(safe_next(wanted), safe="")
        return RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    if not _page_request(request):
        return PlainTextResponse(exc.message, exc.status_code, headers=PAGE_HEADERS)
    context = {"title": exc.title, "message": exc.message, "session": None, "csrf": ""}
    return render(request, "error.html", context, status_code=exc.status_code)


UI_EXCEPTION_HANDLERS: dict[type[Exception], ExceptionHandler] = {UiError: ui_error}
