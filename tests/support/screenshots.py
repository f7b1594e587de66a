"""Screenshots of the web inbox for the README, taken with the browser tests' own setup.

    .venv/bin/python -m tests.support.screenshots          # writes docs/screenshots/*.png

A throw-away stack (embedded Redis, migrated SQLite), the real web app on loopback, a few
realistic mails through the ``raw`` hook, a worker run (one of them dead-lettered), then Debian's
Chromium (``MAILHOOK_CHROMIUM``) signs in and photographs the inbox and a message, on a desktop
and at 375 px. ``tests/ui/test_ui_screenshots.py`` runs the same ``capture`` in CI (into a temp
dir), so the pictures cannot silently stop matching the pages.
"""

# ruff: noqa: T201 (a command-line tool: printing is its output)

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, ViewportSize, expect, sync_playwright

from service.cli.embedded_redis import EmbeddedRedis
from service.cli.web import create_web_app
from service.settings import Settings
from service.store.db import make_engine
from service.store.migrate import upgrade
from service.store.tokens import Scope
from tests.support.servers import serve_in_thread
from tests.support.ui import FAILING_PIPELINE, deliver, drain_queue, make_token, ui_config

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = os.environ.get("MAILHOOK_CHROMIUM", "/usr/bin/chromium")

SIGN_IN_HTML = """<div style="background:#f4f5f7;padding:24px 0;font-family:Helvetica,Arial,sans-serif">
<table align="center" width="480" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:8px">
<tr><td style="background:#1f3a8a;color:#ffffff;padding:18px 24px;font-size:18px;font-weight:bold;
border-radius:8px 8px 0 0">Widget Co</td></tr>
<tr><td style="padding:24px;color:#1f2937;font-size:15px;line-height:1.5">
<p>Hi Sam,</p><p>Use this code to finish signing in. It expires in 10 minutes.</p>
<p style="font-size:30px;letter-spacing:6px;font-weight:bold;text-align:center;background:#eef2ff;
padding:14px;border-radius:6px">731904</p>
<p>Didn't try to sign in? <a href="https://widget.example/security">Secure your account</a>.</p>
<img src="https://tracker.widget.example/open.gif" width="1" height="1" alt="">
</td></tr></table></div>"""

MAILS: list[dict[str, Any]] = [
    {"to": "billing@qa.example.com", "subject": "Welcome to Acme Cloud", "sender": "Acme Cloud <hello@acme.example>",
     "text": "Thanks for joining Acme Cloud.\nhttps://acme.example/start\n", "html": "<p>Thanks for joining.</p>"},
    {"to": "signup+run41@qa.example.com", "subject": "Confirm your email address",
     "sender": "Shoply <accounts@shoply.example>",
     "text": "Confirm your address: https://shoply.example/confirm?t=8f2c1\n",
     "html": '<p>Confirm your address: <a href="https://shoply.example/confirm?t=8f2c1">Confirm</a></p>'},
    {"to": "alice+reset@qa.example.com", "subject": "Reset your password", "sender": "Notes <no-reply@notes.example>",
     "text": "Your password reset code is 558109.\n", "html": "<p>Your password reset code is <b>558109</b>.</p>"},
    {"to": "signup+run42@qa.example.com", "subject": "Your Widget Co sign-in code",
     "sender": "Widget Co <no-reply@widget.example>",
     "text": "Use this code to finish signing in: 731904\n", "html": SIGN_IN_HTML},
]  # fmt: skip
FAILING: dict[str, Any] = {
    "to": "orders+crm@qa.example.com",
    "subject": "Order #1042 confirmed",
    "sender": "Shoply <orders@shoply.example>",
    "text": "Order 1042 is confirmed.\n",
    "attachments": (("invoice-1042.pdf", "application/pdf", b"%PDF-1.4\n%fake\n"),),
}


def populate(base: str, settings: Settings, flag: Path) -> str:
    """The sample mails, processed; the last one dead-lettered. Returns the sign-in mail's id."""
    ids = []
    for mail in MAILS:
        ids.append(deliver(base, **mail))
        time.sleep(0.05)  # distinct arrival times, as real mail has
    drain_queue(settings)
    flag.write_text("down")
    deliver(base, **FAILING)
    drain_queue(settings)
    deliver(base, "signup+run43@qa.example.com", subject="Your Widget Co sign-in code", text="Code: 090417\n")
    return ids[-1]


def capture(browser: Browser, base: str, token: str, message_id: str, out: Path) -> list[Path]:
    """Sign in and photograph the inbox and one message (desktop and 375 px); any console error
    on any page fails, as in the browser tests."""
    out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    shots: list[Path] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    viewports: tuple[tuple[str, ViewportSize], ...] = (
        ("", {"width": 1280, "height": 760}),
        ("-mobile", {"width": 375, "height": 760}),
    )
    for suffix, viewport in viewports:
        context = browser.new_context(base_url=base, viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.on("console", on_console)
        page.goto(f"/ui/messages/{message_id}")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1.subject")).to_have_text("Your Widget Co sign-in code")
        expect(page.frame_locator("iframe.html").get_by_text("731904")).to_be_visible()
        shots.append(out / f"message{suffix}.png")
        page.screenshot(path=shots[-1])
        page.goto("/ui")
        expect(page.locator("#live")).to_have_attribute("data-state", "live")
        shots.append(out / f"inbox{suffix}.png")
        page.screenshot(path=shots[-1])
        context.close()
    assert errors == [], errors
    return shots


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mailhook-shots-") as tmp:
        root = Path(tmp)
        redis = EmbeddedRedis(root / "redis").start()
        try:
            settings = Settings(
                database_url=f"sqlite:///{root / 'mailhook.db'}",
                redis_url=redis.url,
                config=root / "mailhook.yaml",
                data_dir=root / "var",
                job_max_tries=1,
            )
            upgrade(make_engine(settings))
            flag = root / "crm-down"
            ui_config(settings, FAILING_PIPELINE.format(flag=flag))
            token = make_token(settings, Scope.admin, name="qa-team")
            with serve_in_thread(create_web_app(settings)) as base:
                message_id = populate(base, settings, flag)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM)
                    for shot in capture(browser, base, token, message_id, OUT):
                        print(f"wrote {shot.relative_to(OUT.parents[1])}")
                    browser.close()
        finally:
            redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
