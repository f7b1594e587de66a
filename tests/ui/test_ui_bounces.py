"""Bounces and suppressions in the web inbox: listed from the bounce store, filtered, and
suppressions removed or added by admins only, with the session's CSRF token."""

from __future__ import annotations

import httpx

from service.config import SuppressionConfig
from service.mail.bounce import Kind
from service.settings import Settings
from service.store.bounce_writes import record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from service.store.models import utcnow
from service.store.suppressions import active_suppressions
from tests.support.ui import csrf_of, deliver, signed_in


def _bounce(recipient: str, kind: Kind, *, message_id: str | None = None, event: str = "e1") -> BounceEventCreate:
    return BounceEventCreate(
        source="postmark-bounces",
        provider="postmark",
        provider_event_id=event,
        recipient=recipient,
        kind=kind,
        reason="user_unknown" if kind == "hard" else "mailbox_full",
        occurred_at=utcnow(),
        status="5.1.1" if kind == "hard" else "4.2.2",
        reply_code=550 if kind == "hard" else 452,
        diagnostic="<script>alert(1)</script> 550 5.1.1 no such user",
        message_id=message_id,
    )


def test_bounces_are_listed_filtered_and_escaped(http: httpx.Client, ui_app: str, settings: Settings) -> None:
    mid = deliver(ui_app, "mailer-daemon@example.com", subject="Undelivered Mail Returned to Sender")
    engine = make_engine(settings)
    record_events(
        engine,
        [_bounce("gone@example.com", "hard", message_id=mid), _bounce("full@example.com", "soft", event="e2")],
        SuppressionConfig(),
    )
    page = http.get("/ui/bounces").text
    assert "gone@example.com" in page and "full@example.com" in page and "5.1.1 (550)" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert f'href="/ui/messages/{mid}"' in page
    hard = http.get("/ui/bounces", params={"kind": "hard"}).text
    assert "gone@example.com" in hard and "full@example.com" not in hard
    assert "full@example.com" in http.get("/ui/bounces", params={"recipient": "FULL@example.com"}).text
    assert http.get("/ui/bounces", params={"kind": "lost"}).status_code == 400
    # The bounce mail's own page says what bounced.
    message = http.get(f"/ui/messages/{mid}").text
    assert 'class="status k-hard">hard</span> user_unknown (5.1.1)' in message and "for gone@example.com" in message


def test_suppressions_are_listed_and_admins_remove_or_add_them(
    http: httpx.Client, ui_app: str, settings: Settings, read_token: str
) -> None:
    engine = make_engine(settings)
    record_events(engine, [_bounce("gone@example.com", "hard")], SuppressionConfig())
    page = http.get("/ui/suppressions").text
    assert "gone@example.com" in page and 'aria-label="Remove gone@example.com"' in page
    csrf = csrf_of(page)
    with signed_in(ui_app, read_token) as reader:
        listed = reader.get("/ui/suppressions").text
        assert "gone@example.com" in listed and "Remove" not in listed
        refused = reader.post("/ui/suppressions/remove", data={"csrf": csrf_of(listed), "address": "gone@example.com"})
        assert refused.status_code == 403
    assert http.post("/ui/suppressions/remove", data={"address": "gone@example.com"}).status_code == 403
    removed = http.post("/ui/suppressions/remove", data={"csrf": csrf, "address": "Gone@Example.com"})
    assert removed.status_code == 303 and active_suppressions(engine, ["gone@example.com"]) == {}
    assert http.post("/ui/suppressions/remove", data={"csrf": csrf, "address": "gone@example.com"}).status_code == 404
    added = http.post("/ui/suppressions/add", data={"csrf": csrf, "address": "spam-trap@example.com", "reason": ""})
    assert added.status_code == 303
    entry = active_suppressions(engine, ["spam-trap@example.com"])["spam-trap@example.com"]
    assert entry.source == "ui" and "qa-admin" in entry.reason
    assert http.post("/ui/suppressions/add", data={"csrf": csrf, "address": "not an address"}).status_code == 400
