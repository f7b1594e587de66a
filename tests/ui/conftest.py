"""Fixtures for the web inbox tests: the real app (with the worker-side code extractors, as
``mailhook serve`` runs it) on loopback, tokens, a signed-in HTTP client, and for the browser
tests a real Chromium driven by Playwright.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``, or ``MAILHOOK_CHROMIUM``):
Playwright never downloads one here. Every page a browser test opens is watched: a console error
or an uncaught exception on any page or frame fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.tokens import Scope
from tests.support.servers import serve_in_thread
from tests.support.ui import drain_queue, make_token, signed_in, ui_config

CHROMIUM = os.environ.get("MAILHOOK_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def ui_app(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn on loopback; the config (``ui_config``) may be written first."""
    if not settings.config.exists():
        ui_config(settings)
    with serve_in_thread(create_web_app(settings)) as base:
        yield base


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return make_token(settings, Scope.admin, name="qa-admin")


@pytest.fixture
def read_token(settings: Settings) -> str:
    return make_token(settings, Scope.read, name="qa-reader")


@pytest.fixture
def http(ui_app: str, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as an admin (cookies kept), asking for HTML like a browser."""
    with signed_in(ui_app, admin_token) as client:
        yield client


@pytest.fixture
def drain(settings: Settings) -> Callable[[], Any]:
    """Run a burst worker until the queue is empty (see ``tests.support.ui.drain_queue``)."""
    return lambda: drain_queue(settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        # Like the corpus and PostgreSQL suites: skipped with a reason on a machine without the
        # browser, a failure where it must run (CI sets MAILHOOK_REQUIRE_BROWSER=1).
        reason = f"no Chromium at {CHROMIUM}: apt-get install chromium, or set MAILHOOK_CHROMIUM"
        if os.environ.get("MAILHOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A browser context whose pages are watched for console errors and uncaught exceptions."""

    context: BrowserContext
    errors: list[str] = field(default_factory=list)
    #: Substrings of console errors a test expects (and asserts on itself).
    expected: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@pytest.fixture
def watched(browser: Browser, ui_app: str) -> Iterator[Watched]:
    context = browser.new_context(base_url=ui_app, viewport={"width": 1280, "height": 860})
    watched = Watched(context)
    context.on("page", watched.watch)
    yield watched
    context.close()
    assert watched.unexpected() == [], "a page logged console errors"


@pytest.fixture
def page(watched: Watched) -> Page:
    return watched.context.new_page()
