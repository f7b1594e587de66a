"""The web inbox in a real Chromium: sign in, live arrival, open, copy the code, replay a failed
run, and hostile email HTML that must not run, read cookies, navigate or phone home.

Every test runs under ``watched`` (tests/ui/conftest.py): a console error or uncaught exception on
any page or frame fails it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.cli.web import create_web_app
from service.settings import Settings
from tests.support.servers import serve_in_thread
from tests.support.ui import FAILING_PIPELINE, deliver, ui_config
from tests.ui.conftest import Watched

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f1c7d00000000049454e44ae426082"
)


def sign_in(page: Page, token: str, start: str = "/ui") -> None:
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/ui/signin\?next="))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(start) + r"$"))


class Tracker:
    """A remote server an email's images point at: it records every request it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.hits.append(request.url.path)
            return Response(PNG, media_type="image/png")

        return Starlette(routes=[Route("/{path:path}", anything)])


@pytest.fixture
def tracker() -> Iterator[tuple[Tracker, str]]:
    found = Tracker()
    with serve_in_thread(found.app()) as base:
        yield found, base


def test_sign_in_then_mail_arrives_live_and_its_code_copies(
    watched: Watched, page: Page, ui_app: str, admin_token: str
) -> None:
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui_app)
    sign_in(page, admin_token)
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")

    mid = deliver(
        ui_app, "signup+run7@example.com", subject="Your sign-in code", text="Your code is 482913", html="<p>482913</p>"
    )

    row = page.locator(f'li[data-id="{mid}"]')
    expect(row).to_be_visible(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded instead of updating live"
    expect(row.locator(".code code")).to_have_text("482913")
    expect(row.locator(".chip.tag")).to_have_text("+run7")
    expect(row).to_have_class(re.compile(r"\bunread\b"))

    row.get_by_role("button", name="Copy code 482913").click()
    expect(row.get_by_role("button", name=re.compile("Copy code"))).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "482913"

    row.locator("a.msg-link").click()
    expect(page).to_have_url(re.compile(f"/ui/messages/{mid}"))
    expect(page.locator("h1.subject")).to_have_text("Your sign-in code")
    expect(page.locator("#code")).to_have_text("482913")
    # The session cookie is HttpOnly: no script in our own origin can read it.
    assert "mh_session" not in page.evaluate("document.cookie")

    page.go_back()
    expect(page.locator(f'li[data-id="{mid}"]')).not_to_have_class(re.compile(r"\bunread\b"))


def test_a_dead_lettered_run_is_replayed_from_the_browser(
    watched: Watched, page: Page, settings: Settings, admin_token: str, tmp_path: Path, drain: Callable[[], Any]
) -> None:
    flag = tmp_path / "crm-down"
    flag.write_text("down")
    ui_config(settings, FAILING_PIPELINE.format(flag=flag))
    with serve_in_thread(create_web_app(settings)) as base:
        mid = deliver(base, "orders@example.com", subject="Order 1001")
        drain()
        page.goto(base + "/ui/dead-letters")
        page.get_by_label("API token").fill(admin_token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".dead li")).to_contain_text("the CRM refused the signup")

        page.locator(".dead li a.msg-link").click()
        expect(page.locator(".run.r-failed")).to_contain_text("python failed")
        flag.unlink()
        page.get_by_role("button", name="Replay").click()
        expect(page.locator(".notice")).to_contain_text("Replay queued")
        drain()
        page.reload()
        expect(page.locator(".run").first).to_contain_text("succeeded")
        expect(page.locator(".fields .status")).to_have_text("processed")
        page.goto(base + "/ui/dead-letters")
        expect(page.locator(".dead")).to_contain_text("No dead letters")
        page.close()  # before the server stops: its event stream must not outlive it
    assert mid


HOSTILE = """<html><head>
<meta http-equiv="refresh" content="0;url={tracker}/navigated-by-refresh">
<base href="{tracker}/base/">
</head><body>
<h1 id="greeting">Hello from a hostile sender</h1>
<script>top.location = "{tracker}/navigated-by-script"; parent.document.title = "pwned";</script>
<img src="broken.png" onerror="top.location='{tracker}/navigated-by-onerror'" alt="broken">
<a id="js-link" href="javascript:top.location='{tracker}/navigated-by-link'">Claim your prize</a>
<img id="pixel" src="{tracker}/pixel.png" alt="tracking pixel">
<p style="background-image:url('{tracker}/style-bg.png')">styled</p>
</body></html>"""


def _hostile_message(ui_app: str, tracker_base: str) -> str:
    return deliver(ui_app, "victim@example.com", subject="You won", html=HOSTILE.format(tracker=tracker_base))


def _assert_untouched(page: Page, url: str, tracker: Tracker) -> None:
    assert page.url == url, "the email navigated the top page"
    assert page.title() != "pwned"
    assert [hit for hit in tracker.hits if "navigated" in hit] == []


def test_hostile_html_runs_nothing_and_loads_nothing_until_asked(
    watched: Watched, page: Page, ui_app: str, admin_token: str, tracker: tuple[Tracker, str]
) -> None:
    hits, tracker_base = tracker
    mid = _hostile_message(ui_app, tracker_base)
    sign_in(page, admin_token, f"/ui/messages/{mid}")
    frame_element = page.locator("iframe.html")
    expect(frame_element).to_have_attribute("sandbox", "allow-popups allow-popups-to-escape-sandbox")
    frame = page.frame_locator("iframe.html")
    expect(frame.locator("h1")).to_have_text("Hello from a hostile sender")
    frame.get_by_text("Claim your prize").click()
    page.wait_for_timeout(500)  # time for any refresh, script or handler that would run
    _assert_untouched(page, page.url, hits)
    assert hits.hits == [], "a remote resource was fetched before the viewer asked"
    body = page.frame(url=re.compile(r"/body$"))
    assert body is not None
    # The frame's document has an opaque origin: it cannot even ask for cookies.
    with pytest.raises(Exception, match="sandboxed"):
        body.evaluate("document.cookie")

    page.get_by_role("link", name="Load remote content").click()
    expect(page).to_have_url(re.compile(r"remote=1"))
    expect(page.frame_locator("iframe.html").get_by_alt_text("tracking pixel")).to_be_visible()
    page.wait_for_timeout(300)
    assert {"/pixel.png", "/style-bg.png"} <= set(hits.hits), hits.hits
    _assert_untouched(page, page.url, hits)


def test_raw_hostile_html_is_contained_by_the_sandbox_and_csp_alone(
    watched: Watched, page: Page, ui_app: str, admin_token: str, tracker: tuple[Tracker, str]
) -> None:
    """The second wall on its own: the frame is served the email's HTML *unsanitized* (the route
    is intercepted, the real response's headers kept). The sandbox and the CSP must still stop
    the script, the handler, the refresh, the link and the image; Chromium reports what it
    blocked as console errors, which this test expects and checks."""
    hits, tracker_base = tracker
    mid = _hostile_message(ui_app, tracker_base)
    raw_html = HOSTILE.format(tracker=tracker_base)

    def unsanitized(route: Any) -> None:
        real = route.fetch()
        assert "sandbox" in real.headers["content-security-policy"]
        route.fulfill(response=real, body=raw_html)

    page.route(re.compile(r"/ui/messages/[0-9a-z]+/body$"), unsanitized)
    watched.expected += ["Blocked script execution", "Content Security Policy", "Refused to", "Unsafe attempt"]
    sign_in(page, admin_token, f"/ui/messages/{mid}")
    frame = page.frame_locator("iframe.html")
    expect(frame.locator("h1")).to_have_text("Hello from a hostile sender")
    frame.get_by_text("Claim your prize").click()
    page.wait_for_timeout(1000)
    _assert_untouched(page, page.url, hits)
    assert hits.hits == [], "the sandboxed frame fetched something"
    blocked = "\n".join(watched.errors)
    assert "Refused to execute the redirect" in blocked  # the meta refresh
    assert "Blocked script execution" in blocked  # <script>, onerror=, the javascript: link
    assert 'violates the following Content Security Policy directive: "img-src data:"' in blocked
    assert "base-uri" in blocked
