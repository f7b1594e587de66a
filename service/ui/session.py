"""Who is asking, and whether to believe the request: session cookies, CSRF tokens, origins.

* The session cookie carries a random id only (``service.store.sessions`` keeps its sha256 and the
  API token's id, never the token). It is ``HttpOnly`` (no script reads it), ``SameSite=Strict``
  (no other site's page sends it) and ``Secure`` when Mailhook is reached over HTTPS
  (``MAILHOOK_PUBLIC_URL=https://…`` behind a TLS-terminating proxy, or HTTPS itself).
* Every state-changing request carries the session's CSRF token (a form field, or the
  ``X-CSRF-Token`` header for our script's requests), compared in constant time.
* Requests another origin sent are refused by their ``Origin`` / ``Sec-Fetch-Site`` headers
  (forms, and the event stream, which is a GET no CSRF token protects).
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request

from service.store.sessions import SessionInfo, find_session
from service.store.tokens import Scope
from service.ui.errors import BadRequest, CsrfRefused, NotAllowed, OriginRefused, SignInRequired
from service.web.state import AppState

COOKIE = "mh_session"
#: The sign-in form's own CSRF pair (there is no session yet): cookie value == form field.
SIGNIN_COOKIE = "mh_signin"
#: Forms are small; anything larger is not ours.
MAX_FORM_FIELDS = 20


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.mailhook
    return state


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_of(request: Request) -> str:
    """Our own origin: ``MAILHOOK_PUBLIC_URL``'s when set, else the one this request came to."""
    public = app_state(request).settings.public_url
    if public:
        return _origin(public)
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}".lower()


def is_https(request: Request) -> bool:
    return origin_of(request).startswith("https://")


def cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": is_https(request), "path": "/ui"}


def check_origin(request: Request) -> None:
    """Refuse a request another origin's page made. Browsers send ``Origin`` on every POST and
    on cross-origin reads, and ``Sec-Fetch-Site`` on everything (Chromium, Firefox, Safari)."""
    origin, ours = request.headers.get("origin"), origin_of(request)
    if origin is not None and origin.lower() != ours:
        # Behind a proxy that rewrites Host, "ours" is wrong until MAILHOOK_PUBLIC_URL says otherwise.
        raise OriginRefused(
            f"requests from {origin[:100]} are not accepted here (this server is {ours}; "
            "behind a proxy, set MAILHOOK_PUBLIC_URL to the address people use)"
        )
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise OriginRefused("requests from other sites are not accepted here")


async def current_session(request: Request) -> SessionInfo | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    return await asyncio.to_thread(find_session, app_state(request).ingest.engine, session_id)


async def require_session(request: Request, scope: Scope = Scope.read) -> SessionInfo:
    """The signed-in session, allowed ``scope``; else sign-in (401) or 403."""
    session = await current_session(request)
    if session is None:
        raise SignInRequired("sign in with an API token to see this page")
    if not session.allows(scope):
        held = f"your token ({session.token_name}) has the {session.scope!r} scope"
        raise NotAllowed(f"{held}; this needs {scope.value!r}")
    return session


def csrf_matches(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected.encode(), str(presented).encode())


async def checked_form(request: Request, session: SessionInfo) -> FormData:
    """The POSTed form, if it came from our own page with this session's CSRF token."""
    check_origin(request)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # multipart/urlencoded parse errors come in several types
        raise BadRequest(f"unreadable form ({type(exc).__name__})") from None
    presented = form.get("csrf") or request.headers.get("x-csrf-token")
    if not csrf_matches(session.csrf, presented if isinstance(presented, str) else None):
        raise CsrfRefused("this form is missing its security token or it expired; reload the page and try again")
    return form
