"""The web inbox's defences, over real HTTP: sign-in and its redirects, cookie flags, CSRF on
every state-changing request, Origin checks (forms and the event stream), scopes, security
headers on pages, on the email-HTML route and on downloads."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import revoke_token
from service.ui.body import BODY_CSP, REMOTE_BODY_CSP
from service.ui.pages import PAGE_CSP
from tests.conftest import IMPROVMX_SECRET
from tests.support.servers import serve_in_thread
from tests.support.ui import csrf_of, deliver, sign_in, signed_in, ui_config

PAGES = [
    "/ui",
    "/ui/dead-letters",
    "/ui/bounces",
    "/ui/suppressions",
    "/ui/sources",
    "/ui/status",
    "/ui/messages/01m90xczcnqxv20e16t1knbccx",
]


@pytest.fixture
def anonymous(ui_app: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_app, timeout=15, headers={"Accept": "text/html"}) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_a_session_redirect_to_sign_in(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/signin?next=" + path.replace("/", "%2F")


def test_scripts_without_a_session_get_401_not_a_redirect(anonymous: httpx.Client) -> None:
    for path in ("/ui/inbox/rows", "/ui/events"):
        response = anonymous.get(path, headers={"Sec-Fetch-Mode": "cors", "Accept": "*/*"})
        assert response.status_code == 401, path
    assert anonymous.post("/ui/messages/01m90xczcnqxv20e16t1knbccx/replay").status_code == 401


def test_root_and_inbox_lead_to_the_ui(anonymous: httpx.Client) -> None:
    for path in ("/", "/inbox"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["location"] == "/ui"
    assert anonymous.get("/ui/no-such-page").status_code == 404


def test_sign_in_sets_a_strict_httponly_cookie_holding_no_token(
    ui_app: str, admin_token: str, settings: Settings
) -> None:
    with httpx.Client(base_url=ui_app, timeout=15) as client:
        response = sign_in(client, admin_token)
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mh_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back
    value = cookie.split(";")[0].split("=", 1)[1]
    assert admin_token not in cookie and value not in admin_token
    with make_engine(settings).connect() as conn:
        stored = conn.execute(text("SELECT id_sha256, csrf, token_id FROM uisession")).all()
    assert len(stored) == 1 and value not in str(stored) and admin_token not in str(stored)


def test_the_cookie_is_secure_behind_https(settings: Settings, admin_token: str) -> None:
    ui_config(settings)
    https = settings.model_copy(update={"public_url": "https://mail.example.com"})
    with serve_in_thread(create_web_app(https)) as base, httpx.Client(base_url=base, timeout=15) as client:
        form = client.get("/ui/signin")
        assert "Secure" in form.headers["set-cookie"]
        # The browser would send the cookie back over HTTPS; here we hand it back ourselves.
        pair = form.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        response = client.post(
            "/ui/signin",
            data={"csrf": csrf_of(form.text), "token": admin_token},
            headers={"Origin": "https://mail.example.com", "Cookie": f"mh_signin={pair}"},
        )
    assert response.status_code == 303
    assert "Secure" in next(c for c in response.headers.get_list("set-cookie") if c.startswith("mh_session="))


def test_sign_in_refuses_unknown_tokens_forged_forms_and_other_origins(ui_app: str, admin_token: str) -> None:
    with httpx.Client(base_url=ui_app, timeout=15) as client:
        form = client.get("/ui/signin")
        csrf = csrf_of(form.text)
        wrong = client.post("/ui/signin", data={"csrf": csrf, "token": "mh_" + "x" * 43})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        forged = client.post("/ui/signin", data={"csrf": "guessed", "token": admin_token})
        assert forged.status_code == 403
        elsewhere = client.post(
            "/ui/signin", data={"csrf": csrf_of(wrong.text), "token": admin_token}, headers={"Origin": "https://evil"}
        )
        assert elsewhere.status_code == 403
    with httpx.Client(base_url=ui_app, timeout=15) as fresh:  # no form cookie at all
        assert fresh.post("/ui/signin", data={"csrf": csrf, "token": admin_token}).status_code == 403


def test_after_sign_in_only_paths_inside_the_ui_are_followed(ui_app: str, admin_token: str) -> None:
    for wanted, landing in (("//evil.example/x", "/ui"), ("https://evil", "/ui"), ("/ui/status", "/ui/status")):
        with httpx.Client(base_url=ui_app, timeout=15) as client:
            form = client.get("/ui/signin", params={"next": wanted})
            fields = {"csrf": csrf_of(form.text), "token": admin_token, "next": wanted}
            assert client.post("/ui/signin", data=fields).headers["location"] == landing


def test_state_changing_requests_need_the_session_csrf_token(http: httpx.Client, ui_app: str) -> None:
    mid = deliver(ui_app, "a@example.com")
    inbox = http.get("/ui")
    csrf = csrf_of(inbox.text)
    state_changing = ["replay", "unread", "delete"]
    for path in [
        *(f"/ui/messages/{mid}/{action}" for action in state_changing),
        "/ui/dead-letters/replay",
        "/ui/signout",
    ]:
        assert http.post(path).status_code == 403, path
        assert http.post(path, data={"csrf": "not-the-token"}).status_code == 403, path
    assert http.post("/ui/sources/raw/webhook-url").status_code == 403
    assert http.post("/ui/sources/raw/webhook-url", headers={"X-CSRF-Token": csrf[:-1]}).status_code == 403
    # With the token, from our own origin: accepted.
    ok = http.post(f"/ui/messages/{mid}/replay", data={"csrf": csrf}, headers={"Origin": ui_app})
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/ui/messages/{mid}")
    # The right token from another origin's page: refused.
    other = http.post(f"/ui/messages/{mid}/unread", data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert other.status_code == 403
    cross = http.post(f"/ui/messages/{mid}/unread", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403


def test_a_read_token_may_look_but_not_replay_or_see_hook_secrets(ui_app: str, read_token: str) -> None:
    mid = deliver(ui_app, "a@example.com")
    with signed_in(ui_app, read_token) as client:
        page = client.get(f"/ui/messages/{mid}")
        assert page.status_code == 200 and 'id="replay"' not in page.text
        csrf = csrf_of(page.text)
        assert client.post(f"/ui/messages/{mid}/replay", data={"csrf": csrf}).status_code == 403
        assert client.post(f"/ui/messages/{mid}/delete", data={"csrf": csrf}).status_code == 403
        assert client.post("/ui/sources/raw/webhook-url", headers={"X-CSRF-Token": csrf}).status_code == 403
        assert client.post(f"/ui/messages/{mid}/unread", data={"csrf": csrf}).status_code == 303


def test_webhook_urls_are_masked_on_pages_and_given_to_admins_on_request(http: httpx.Client, ui_app: str) -> None:
    page = http.get("/ui/sources")
    assert page.status_code == 200 and IMPROVMX_SECRET not in page.text
    assert f"{ui_app}/hooks/improvmx/••••••••" in page.text
    csrf = csrf_of(page.text)
    revealed = http.post("/ui/sources/improvmx/webhook-url", headers={"X-CSRF-Token": csrf, "Origin": ui_app})
    assert revealed.json() == {"url": f"{ui_app}/hooks/improvmx/{IMPROVMX_SECRET}"}
    assert http.post("/ui/sources/nope/webhook-url", headers={"X-CSRF-Token": csrf}).status_code == 404


def test_a_revoked_token_ends_its_sessions(http: httpx.Client, settings: Settings) -> None:
    assert http.get("/ui").status_code == 200
    assert revoke_token(make_engine(settings), "qa-admin") == 1
    response = http.get("/ui")
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/signin")


def test_sign_out_ends_the_session(http: httpx.Client) -> None:
    csrf = csrf_of(http.get("/ui").text)
    cookie = http.cookies["mh_session"]
    assert http.post("/ui/signout", data={"csrf": csrf}).status_code == 303
    http.cookies.set("mh_session", cookie, path="/ui")  # a stolen copy of the old cookie
    assert http.get("/ui").status_code == 303


def test_pages_carry_a_strict_csp_and_are_never_framed_or_cached(http: httpx.Client, ui_app: str) -> None:
    mid = deliver(ui_app, "a@example.com", html="<p>hi</p>")
    pages = ("/ui", f"/ui/messages/{mid}", "/ui/status", "/ui/sources", "/ui/dead-letters", "/ui/bounces")
    for path in (*pages, "/ui/suppressions", "/ui/signin"):
        headers = http.get(path).headers
        assert headers["content-security-policy"] == PAGE_CSP, path
        assert "script-src 'self'" in PAGE_CSP and "unsafe-inline" not in PAGE_CSP
        assert "frame-ancestors 'none'" in PAGE_CSP
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
    static = http.get("/ui/static/app.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"


def test_the_email_html_route_is_sandboxed_and_loads_nothing_remote_unless_asked(
    http: httpx.Client, ui_app: str
) -> None:
    mid = deliver(ui_app, "a@example.com", html='<p>hi<img src="https://tracker.example/p.gif"></p>')
    frame = http.get(f"/ui/messages/{mid}/body")
    csp = frame.headers["content-security-policy"]
    assert csp == BODY_CSP
    assert "default-src 'none'" in csp and "sandbox allow-popups" in csp and "allow-scripts" not in csp
    assert "allow-same-origin" not in csp and "img-src data:;" in csp + ";" and "frame-ancestors 'self'" in csp
    assert frame.headers["referrer-policy"] == "no-referrer" and "tracker.example" not in frame.text
    remote = http.get(f"/ui/messages/{mid}/body", params={"remote": "1"})
    assert remote.headers["content-security-policy"] == REMOTE_BODY_CSP
    assert "https://tracker.example/p.gif" in remote.text and "script-src" not in REMOTE_BODY_CSP
    page = http.get(f"/ui/messages/{mid}").text
    assert re.search(r'<iframe[^>]+sandbox="allow-popups allow-popups-to-escape-sandbox"', page)


def test_attachments_and_source_are_downloads_never_rendered(http: httpx.Client, ui_app: str) -> None:
    evil = b"<script>alert(document.cookie)</script>"
    mid = deliver(ui_app, "a@example.com", attachments=(("../../invoice.html", "text/html", evil),))
    detail = http.get(f"/ui/messages/{mid}", params={"view": "attachments"}).text
    assert "invoice.html" in detail
    response = http.get(f"/ui/messages/{mid}/attachments/0")
    assert response.status_code == 200 and response.content == evil
    assert response.headers["content-disposition"] == 'attachment; filename="invoice.html"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    raw = http.get(f"/ui/messages/{mid}/raw")
    assert raw.headers["content-disposition"].startswith("attachment;") and b"invoice.html" in raw.content
    assert http.get(f"/ui/messages/{mid}/attachments/7").status_code == 404


def test_the_event_stream_refuses_other_origins(http: httpx.Client) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        assert http.get("/ui/events", headers=headers).status_code == 403, headers


def test_the_event_stream_announces_stored_mail(http: httpx.Client, ui_app: str) -> None:
    first = deliver(ui_app, "a@example.com")
    headers = {"Origin": ui_app, "Sec-Fetch-Site": "same-origin", "Accept": "text/event-stream"}
    with http.stream("GET", "/ui/events", params={"since": first}, headers=headers, timeout=15) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        second = deliver(ui_app, "b@example.com")
        for line in lines:
            if line.startswith("data: "):
                assert line == f"data: {second}"
                break
    rows = http.get("/ui/inbox/rows", params={"after": first}).text
    assert f'data-id="{second}"' in rows and f'data-id="{first}"' not in rows
