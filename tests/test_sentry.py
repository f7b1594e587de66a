"""Nothing private reaches Sentry: scrubbing of realistic events, and a real SDK talking to a fake Sentry."""

from __future__ import annotations

import copy
import datetime
import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from service.runtime.sentry import FILTERED, init_sentry, scrub_event, scrub_log, scrub_string

SECRET = "s3cr3t-Hook-Token-9f8e7d6c"
ADDRESSES = ("alice@example.com", "bob.smith+tag@mail.example.org", "carol@example.net")
BODY = "Hi Bob, the wire transfer code is 4242-ZEBRA."
SUBJECT = "Quarterly wire transfer"
CLIENT_IP = "203.0.113.9"
FORBIDDEN = (SECRET, *ADDRESSES, BODY, "4242-ZEBRA", SUBJECT, CLIENT_IP)


def _assert_clean(payload: object) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    lowered = text.lower()
    leaks = {needle: lowered.find(needle.lower()) for needle in FORBIDDEN}
    leaked = {needle: text[max(at - 120, 0) : at + len(needle)] for needle, at in leaks.items() if at >= 0}
    assert not leaked, f"leaked: {leaked}"
    return text


def _error_event() -> dict[str, Any]:
    """Shaped like what sentry-sdk builds for an exception inside a Starlette webhook request."""
    frame = {
        "filename": "service/ingest/ingestor.py",
        "function": "ingest",
        "lineno": 42,
        "context_line": "        raise ValueError(f'cannot parse message from {sender}')",
        "vars": {"body": BODY, "sender": ADDRESSES[0], "source_secret": SECRET, "self": "<Ingest>"},
    }
    return {
        "event_id": "a" * 32,
        "level": "error",
        "platform": "python",
        "message": f"ingest failed for {ADDRESSES[0]}",
        "logentry": {
            "message": "ingest failed for %s (%s)",
            "params": [ADDRESSES[0], SUBJECT],
            "formatted": f"ingest failed for {ADDRESSES[0]} ({SUBJECT})",
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"cannot parse message from {ADDRESSES[0]} posted to /hooks/improvmx/{SECRET}",
                    "stacktrace": {"frames": [frame]},
                }
            ]
        },
        "threads": {"values": [{"id": 1, "stacktrace": {"frames": [copy.deepcopy(frame)]}}]},
        "request": {
            "url": f"https://mail.example.org/hooks/improvmx/{SECRET}?token={SECRET}",
            "method": "POST",
            "query_string": f"token={SECRET}",
            "headers": {
                "Authorization": f"Bearer {SECRET}",
                "Cookie": f"session={SECRET}",
                "X-Webhook-Signature": SECRET,
                "X-Forwarded-For": CLIENT_IP,
                "Content-Type": "application/json",
                "User-Agent": "ImprovMX-Webhook/1.0",
            },
            "data": {"from": ADDRESSES[0], "subject": SUBJECT, "text": BODY},
            "cookies": {"session": SECRET},
            "env": {"REMOTE_ADDR": CLIENT_IP},
        },
        "user": {"id": "42", "email": ADDRESSES[0], "ip_address": CLIENT_IP},
        "extra": {
            "payload": {"text": BODY, "html": f"<p>{BODY}</p>"},
            "subject": SUBJECT,
            "api_key": SECRET,
            "note": f"forwarded from {ADDRESSES[1]}",
            "message_headers": {"From": f"Alice <{ADDRESSES[0]}>", "Subject": SUBJECT},
            ADDRESSES[2]: "keyed by address",
            "raw_bytes": BODY.encode(),
        },
        "contexts": {
            "email": {"raw": BODY, "subject": SUBJECT, "to": [ADDRESSES[1]], "size": 1234},
            "runtime": {"name": "CPython", "version": "3.11.7", "raw_description": "3.11.7 (main)"},
            "trace": {"trace_id": "b" * 32, "span_id": "c" * 16, "op": "http.server"},
        },
        "breadcrumbs": {
            "values": [
                {
                    "category": "mailhook.ingest",
                    "message": f"received mail for {ADDRESSES[1]} via /hooks/improvmx/{SECRET}",
                    "data": {"body": BODY, "to": ADDRESSES[1]},
                    "timestamp": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
                },
                {
                    "type": "http",
                    "category": "httplib",
                    "data": {
                        "url": f"https://hooks.slack.com/services/T000/B000/{SECRET}",
                        "method": "POST",
                        "http.query": f"sig={SECRET}",
                        "status_code": 200,
                    },
                },
            ]
        },
        "tags": {"component": "web"},
    }


def test_error_event_keeps_nothing_private() -> None:
    original = _error_event()
    pristine = copy.deepcopy(original)
    scrubbed = scrub_event(original, {})
    assert scrubbed is not None
    _assert_clean(scrubbed)
    assert original == pristine  # breadcrumb dicts are shared with the scope: never scrubbed in place

    exc = scrubbed["exception"]["values"][0]
    assert exc["type"] == "ValueError"
    assert exc["value"] == "cannot parse message from [email] posted to /hooks/improvmx/[Filtered]"
    assert "vars" not in exc["stacktrace"]["frames"][0]
    assert exc["stacktrace"]["frames"][0]["lineno"] == 42
    assert "vars" not in scrubbed["threads"]["values"][0]["stacktrace"]["frames"][0]

    request = scrubbed["request"]
    assert request["url"] == "https://mail.example.org/hooks/improvmx/[Filtered]"
    assert request["data"] == request["cookies"] == request["query_string"] == FILTERED
    assert request["headers"]["Authorization"] == request["headers"]["X-Webhook-Signature"] == FILTERED
    assert request["headers"]["Content-Type"] == "application/json"  # still useful for debugging
    assert scrubbed["user"] == {"id": "42"}
    assert scrubbed["logentry"] == {"message": "ingest failed for %s (%s)"}

    assert scrubbed["extra"]["note"] == "forwarded from [email]"
    assert scrubbed["extra"]["payload"] == scrubbed["extra"]["api_key"] == FILTERED
    assert scrubbed["contexts"]["email"]["size"] == 1234
    assert scrubbed["contexts"]["runtime"]["raw_description"] == "3.11.7 (main)"
    crumbs = scrubbed["breadcrumbs"]["values"]
    assert crumbs[0]["message"] == "received mail for [email] via /hooks/improvmx/[Filtered]"
    assert crumbs[1]["data"]["url"] == "https://hooks.slack.com/[Filtered]"
    assert crumbs[1]["data"]["status_code"] == 200
    assert scrubbed["tags"] == {"component": "web"}


def test_transaction_spans_lose_outbound_url_paths() -> None:
    transaction = {
        "type": "transaction",
        "transaction": "/hooks/{source}/{secret}",
        "request": {"url": f"http://mail.example.org/hooks/postmark/{SECRET}", "method": "POST"},
        "spans": [
            {
                "op": "http.client",
                "description": f"POST https://forward.example.com/inbox/{SECRET}/deliver",
                "data": {"url": f"https://forward.example.com/inbox/{SECRET}/deliver", "http.method": "POST"},
            },
            {"op": "db", "description": "INSERT INTO messages (sender) VALUES (?)", "data": {"db.system": "sqlite"}},
        ],
    }
    scrubbed = scrub_event(transaction, {})
    assert scrubbed is not None
    _assert_clean(scrubbed)
    assert scrubbed["transaction"] == "/hooks/{source}/{secret}"  # the route template is not a secret
    assert scrubbed["spans"][0]["description"] == "POST https://forward.example.com/[Filtered]"
    assert scrubbed["spans"][1]["description"] == "INSERT INTO messages (sender) VALUES (?)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token={SECRET}&page=2", "token=[Filtered]&page=2"),
        (f'{{"webhook_secret": "{SECRET}"}}', '{"webhook_secret": "[Filtered]"}'),
        (f"Authorization: Bearer {SECRET}", "Authorization: Bearer [Filtered]"),
        ("monkey=3 keyboard", "monkey=3 keyboard"),
        (f"GET https://api.example.com/v1?key={SECRET}#top", "GET https://api.example.com/v1?[Filtered]#top"),
        ("From: Bob <bob.smith+tag@mail.example.org>", "From: Bob <[email]>"),
    ],
)
def test_scrub_string(text: str, expected: str) -> None:
    assert scrub_string(text) == expected


def test_sentry_logs_send_the_template_not_the_arguments() -> None:
    log = {
        "severity_text": "warning",
        "body": f"forwarding {SUBJECT} from {ADDRESSES[0]}",
        "attributes": {
            "sentry.message.template": "forwarding %s from %s",
            "sentry.message.parameter.0": SUBJECT,
            "sentry.message.parameter.1": ADDRESSES[0],
            "logger.name": "service.forward",
        },
    }
    scrubbed = scrub_log(log, {})
    assert scrubbed is not None
    _assert_clean(scrubbed)
    assert scrubbed["body"] == "forwarding %s from %s"
    assert scrubbed["attributes"]["logger.name"] == "service.forward"


def test_walk_is_bounded_and_fails_closed() -> None:
    deep: dict[str, Any] = {"leaf": ADDRESSES[0]}
    for _ in range(5000):
        deep = {"n": deep}
    wide = [f"{i} {ADDRESSES[0]}" for i in range(100_000)]
    scrubbed = scrub_event({"extra": {"deep": deep, "wide": wide}}, {})
    assert scrubbed is not None
    _assert_clean(scrubbed)

    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert scrub_event({"extra": {"obj": Unprintable()}}, {}) is None


def test_init_without_dsn_is_a_no_op() -> None:
    assert init_sentry(None, component="web") is False
    assert init_sentry("", component="worker") is False


class _FakeSentry(BaseHTTPRequestHandler):
    """Accepts envelopes like sentry.io does and keeps them (decompressed) on the server for inspection."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]  # only sent when brotli is installed

            body = brotli.decompress(body)
        assert isinstance(self.server, _SentryServer)
        self.server.envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


class _SentryServer(ThreadingHTTPServer):
    envelopes: list[bytes]


@pytest.fixture
def fake_sentry() -> Iterator[tuple[int, list[bytes]]]:
    server = _SentryServer(("127.0.0.1", 0), _FakeSentry)
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.envelopes
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# Runs in a child interpreter: sentry_sdk.init patches Starlette, logging and threading process-wide,
# and other tests in this process must not inherit that.
_CHILD = textwrap.dedent(
    """
    import json, logging, sys
    import sentry_sdk
    from service.runtime.sentry import init_sentry, scrub_event

    dsn, secret, body, addresses = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    assert init_sentry(dsn, component="worker", environment="test", release="mailhook@test")

    def deliver(message_body: str, hook_secret: str) -> None:
        raise RuntimeError(f"delivery for {addresses[0]} failed at /hooks/improvmx/{hook_secret}")

    logging.getLogger("mailhook.test").warning("mail from %s", addresses[1])
    try:
        deliver(body, secret)
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.capture_message(f"plain message for {addresses[2]}")
    options = sentry_sdk.get_client().options
    print(json.dumps({
        "send_default_pii": options["send_default_pii"],
        "include_local_variables": options["include_local_variables"],
        "max_request_body_size": options["max_request_body_size"],
        "before_send": options["before_send"] is scrub_event,
        "before_send_transaction": options["before_send_transaction"] is scrub_event,
    }))
    sentry_sdk.flush(timeout=10)
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)
    """
)


def test_real_sdk_sends_only_scrubbed_envelopes(fake_sentry: tuple[int, list[bytes]]) -> None:
    port, envelopes = fake_sentry
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    for name in ("SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, f"http://public@127.0.0.1:{port}/1", SECRET, BODY, *ADDRESSES],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": True,
        "before_send_transaction": True,
    }

    received = _assert_clean(b"\n".join(envelopes).decode("utf-8", "replace"))
    assert received.count('"type":"event"') == 2, received[:2000]
    assert "RuntimeError" in received and "delivery for [email] failed at /hooks/improvmx/[Filtered]" in received
    assert "plain message for [email]" in received
    assert "mail from %s" in received  # the log breadcrumb keeps its template, not the address
    assert '"component":"worker"' in received
    assert '"vars"' not in received
