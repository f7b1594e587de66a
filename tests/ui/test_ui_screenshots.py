"""The README's screenshots are taken by ``tests.support.screenshots``; this runs the same capture
(into a temp dir) so the pictures' setup keeps working, and checks every page fits 375 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.tokens import Scope
from tests.support.screenshots import capture, populate
from tests.support.servers import serve_in_thread
from tests.support.ui import FAILING_PIPELINE, deliver, make_token, ui_config
from tests.ui.conftest import Watched

pytestmark = pytest.mark.browser


def test_the_readme_screenshots_can_be_taken(browser: Browser, settings: Settings, tmp_path: Path) -> None:
    flag = tmp_path / "crm-down"
    ui_config(settings, FAILING_PIPELINE.format(flag=flag))
    token = make_token(settings, Scope.admin)
    with serve_in_thread(create_web_app(settings)) as base:
        message_id = populate(base, settings, flag)
        shots = capture(browser, base, token, message_id, tmp_path / "shots")
    assert [p.name for p in shots] == ["message.png", "inbox.png", "message-mobile.png", "inbox-mobile.png"]
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_every_page_fits_a_375_px_screen(watched: Watched, page: Page, ui_app: str, admin_token: str) -> None:
    mid = deliver(ui_app, "signup+a-rather-long-tag-name@qa.example.com", subject="x" * 200, html="<p>hi</p>")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/ui")
    page.get_by_label("API token").fill(admin_token)
    page.get_by_role("button", name="Sign in").click()
    for path in ("/ui", f"/ui/messages/{mid}", f"/ui/messages/{mid}?view=headers", f"/ui/messages/{mid}?view=source",
                 "/ui/dead-letters", "/ui/bounces", "/ui/suppressions", "/ui/sources", "/ui/status"):  # fmt: skip
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide at 375 px"
