"""Signing in to the UI with an API token, and signing out.

The token is checked by the read API's own ``verify_token`` (same table, same constant-time
comparison, revoked tokens refused) and then forgotten: the session row keeps the token's id.
The sign-in form has no session to bind a CSRF token to, so it carries a random value that must
equal an ``HttpOnly``, ``SameSite=Strict`` cookie set with the form (a double-submit pair): a
page on another site can make the browser POST, but not read or set that cookie.
"""

from __future__ import annotations

import asyncio
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.store.sessions import create_session, end_session
from service.store.tokens import verify_token
from service.ui.errors import CsrfRefused, safe_next
from service.ui.pages import PAGE_HEADERS, render
from service.ui.session import (
    COOKIE,
    SIGNIN_COOKIE,
    app_state,
    check_origin,
    checked_form,
    cookie_options,
    csrf_matches,
    current_session,
    require_session,
)

_SIGNIN_MAX_AGE_S = 3600


def _form(request: Request, next_path: str, *, error: str | None = None, status_code: int = 200) -> Response:
    pair = secrets.token_urlsafe(32)
    context = {"session": None, "csrf": "", "signin_csrf": pair, "next": next_path, "error": error}
    response = render(request, "signin.html", context, status_code=status_code)
    response.set_cookie(SIGNIN_COOKIE, pair, max_age=_SIGNIN_MAX_AGE_S, **cookie_options(request))
    return response


async def signin_page(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if await current_session(request) is not None:
        return RedirectResponse(next_path, 303, headers=PAGE_HEADERS)
    return _form(request, next_path)


async def signin(request: Request) -> Response:
    check_origin(request)
    form = await request.form(max_files=0, max_fields=5)
    next_path = safe_next(str(form.get("next") or ""))
    if not csrf_matches(request.cookies.get(SIGNIN_COOKIE, ""), str(form.get("csrf") or "")):
        raise CsrfRefused("the sign-in form expired; reload the page and sign in again")
    presented = str(form.get("token") or "").strip()
    engine = app_state(request).ingest.engine
    token = await asyncio.to_thread(verify_token, engine, presented) if presented else None
    if token is None:
        return _form(request, next_path, error="That token is unknown or revoked.", status_code=401)
    session_id = await asyncio.to_thread(create_session, engine, token)
    response = RedirectResponse(next_path, 303, headers=PAGE_HEADERS)
    response.set_cookie(COOKIE, session_id, **cookie_options(request))
    response.delete_cookie(SIGNIN_COOKIE, **cookie_options(request))
    return response


async def signout(request: Request) -> Response:
    session = await require_session(request)
    await checked_form(request, session)
    await asyncio.to_thread(end_session, app_state(request).ingest.engine, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/ui/signin", 303, headers=PAGE_HEADERS)
    response.delete_cookie(COOKIE, **cookie_options(request))
    return response
