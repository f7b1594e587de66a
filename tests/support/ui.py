"""Helpers for the web inbox tests: tokens in the test database, mail built with the standard
library and delivered through the real ``raw`` hook, a signed-in HTTP client, and a failing
pipeline to replay.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx

from service.cli.runner import build_worker
from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import Scope, create_token
from tests.conftest import IMPROVMX_SECRET

RAW_SECRET = "raw-secret-0123456789abcdef"
SOURCES = f"""
sources:
  - {{name: raw, provider: raw, secrets: ["{RAW_SECRET}"]}}
  - {{name: improvmx, provider: improvmx, secrets: ["{IMPROVMX_SECRET}", "next-{IMPROVMX_SECRET}"]}}
outbound:
  allow_hosts: ["127.0.0.1"]
"""
#: A pipeline whose one step fails for good while ``flag`` exists (``tests.support.ui_steps``).
FAILING_PIPELINE = """
pipelines:
  default:
    - step: python
      callable: "tests.support.ui_steps:fails_while_flagged"
      args: {{flag: "{flag}"}}
"""


def ui_config(settings: Settings, extra: str = "") -> None:
    settings.config.write_text(textwrap.dedent(SOURCES) + textwrap.dedent(extra))


def make_token(settings: Settings, scope: Scope = Scope.read, name: str | None = None) -> str:
    engine = make_engine(settings)
    try:
        token, _ = create_token(engine, name=name or f"ui-{uuid.uuid4().hex[:8]}", scope=scope)
    finally:
        engine.dispose()
    return token


def email_bytes(
    to: str,
    *,
    subject: str = "Confirm your account",
    text: str | None = None,
    html: str | None = None,
    sender: str = "Acme <no-reply@acme.example>",
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    inline_png: tuple[str, bytes] | None = None,
) -> bytes:
    """A MIME message: text and/or HTML, attachments ``(filename, content type, bytes)``, and
    optionally a ``cid:`` image ``(content id, png bytes)`` related to the HTML."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="acme.example")
    message["Authentication-Results"] = "mx.example; spf=pass; dkim=pass; dmarc=pass"
    message.set_content(text or "Hello.\n")
    if html is not None:
        message.add_alternative(html, subtype="html")
        if inline_png is not None:
            cid, data = inline_png
            *_, html_part = message.iter_parts()  # the alternative just added
            html_part.add_related(data, maintype="image", subtype="png", cid=f"<{cid}>")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def deliver(base: str, to: str, **kwargs: Any) -> str:
    """POST one message to the ``raw`` hook; its stored id."""
    response = httpx.post(
        f"{base}/hooks/raw/{RAW_SECRET}",
        content=email_bytes(to, **kwargs),
        headers={"Content-Type": "message/rfc822", "X-Envelope-To": to},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, token: str) -> httpx.Response:
    """The browser's sign-in, by hand: fetch the form (and its cookie), post the token."""
    form = client.get("/ui/signin")
    assert form.status_code == 200
    return client.post("/ui/signin", data={"csrf": csrf_of(form.text), "token": token, "next": "/ui"})


@contextmanager
def signed_in(base: str, token: str) -> Iterator[httpx.Client]:
    """An HTTP client with a session (its cookies kept), asking for HTML like a browser."""
    with httpx.Client(base_url=base, timeout=15, headers={"Accept": "text/html"}) as client:
        response = sign_in(client, token)
        assert response.status_code == 303, response.text
        yield client


def drain_queue(settings: Settings) -> Any:
    """Run a burst worker until the queue is empty, in a thread with its own event loop (browser
    tests are synchronous, and Playwright's sync API may own this thread's loop); the worker."""
    result: dict[str, Any] = {}

    async def burst() -> None:
        # arq binds a worker to the loop current when it is built: build it on this one.
        worker = build_worker(settings, burst=True)
        try:
            await worker.main()
        finally:
            await worker.close()
        result["worker"] = worker

    thread = threading.Thread(target=lambda: asyncio.run(burst()))
    thread.start()
    thread.join(60)
    return result.get("worker")


@contextmanager
def running_worker(settings: Settings) -> Iterator[None]:
    """A long-running (not burst) worker in its own thread and event loop, stopped on exit; its
    health-check key (the status page's heartbeat) exists only while it runs."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        worker = build_worker(settings, burst=False, handle_signals=False)
        main = asyncio.create_task(worker.main())
        started.set()
        await stop.wait()
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)
        await worker.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
