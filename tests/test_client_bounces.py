"""The clients' bounce and suppression methods against the real app (``/api/v1/bounces``,
``/api/v1/suppressions``) on real loopback HTTP, with events recorded in its store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.client import (
    AsyncMailhookClient,
    BadRequest,
    Bounce,
    Forbidden,
    MailhookClient,
    NotFound,
    Suppression,
    Unauthorized,
)
from service.config import SuppressionConfig
from service.mail.bounce import Kind
from service.settings import Settings
from service.store.bounce_writes import record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from service.store.suppressions import add_suppression
from service.store.tokens import Scope
from tests.support.api import make_token

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


#: What SES says of a hard and of a soft bounce, besides who bounced and when.
SAYS: dict[str, dict[str, Any]] = {
    "hard": {"reason": "user_unknown", "status": "5.1.1", "reply_code": 550},
    "soft": {"reason": "mailbox_full", "status": "4.2.2", "reply_code": 452},
}


def record(settings: Settings, *bounces: tuple[str, Kind, datetime]) -> None:
    """Bounce events as a provider's are recorded (a hard one also suppresses its recipient)."""
    events = [
        BounceEventCreate(
            source="ses",
            provider="ses",
            provider_event_id=f"event-{n}",
            recipient=recipient,
            kind=kind,
            occurred_at=when,
            diagnostic=f"{kind} bounce of {recipient}",
            **SAYS[kind],
        )
        for n, (recipient, kind, when) in enumerate(bounces)
    ]
    engine = make_engine(settings)
    try:
        record_events(engine, events, SuppressionConfig())
    finally:
        engine.dispose()


@pytest.fixture
def admin(live_app: str, settings: Settings) -> Iterator[MailhookClient]:
    with MailhookClient(live_app, make_token(settings, Scope.admin), timeout=15) as client:
        yield client


def test_bounces_newest_first_filtered_and_paged(admin: MailhookClient, settings: Settings) -> None:
    record(
        settings,
        ("ghost@example.org", "hard", T0),
        ("full@example.org", "soft", T0 + timedelta(hours=1)),
        ("Ghost@Example.org", "soft", T0 + timedelta(hours=2)),
        *((f"r{n}@example.org", "soft", T0 - timedelta(hours=n + 1)) for n in range(4)),
    )
    newest = next(admin.bounces())
    assert isinstance(newest, Bounce)
    assert (newest.recipient, newest.kind, newest.reason, newest.status) == (
        "Ghost@Example.org",
        "soft",
        "mailbox_full",
        "4.2.2",
    )
    assert (newest.reply_code, newest.source, newest.provider) == (452, "ses", "ses")
    assert newest.occurred_at == T0 + timedelta(hours=2) and newest.created_at is not None
    assert newest.data["diagnostic"] == "soft bounce of Ghost@Example.org"
    every = [bounce.recipient for bounce in admin.bounces(page_size=2)]
    assert every[:3] == ["Ghost@Example.org", "full@example.org", "ghost@example.org"] and len(every) == 7
    assert [b.recipient for b in admin.bounces(page_size=2, limit=3)] == every[:3]
    assert [b.kind for b in admin.bounces(recipient="GHOST@example.org")] == ["soft", "hard"]
    assert [b.recipient for b in admin.bounces(kind="hard")] == ["ghost@example.org"]
    window = [b.recipient for b in admin.bounces(since=T0, until=(T0 + timedelta(hours=1)).isoformat())]
    assert window == ["full@example.org"]
    assert list(admin.bounces(source="improvmx-logs")) == []
    with pytest.raises(BadRequest) as caught:
        list(admin.bounces(kind="bouncy"))
    assert caught.value.details == {"parameter": "kind"}


def test_suppressions_added_listed_and_removed(admin: MailhookClient, settings: Settings) -> None:
    record(settings, ("ghost@example.org", "hard", T0))
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    made = admin.add_suppression("Ada+Test@Example.org", reason="asked to stop", expires_at=until)
    assert isinstance(made, Suppression)
    assert (made.address, made.kind, made.reason, made.source, made.expires_at) == (
        "ada+test@example.org",
        "manual",
        "asked to stop",
        "api",
        until,
    )
    plain = admin.add_suppression("bob@example.org")
    assert (plain.reason, plain.expires_at) == ("added through the API", None)
    listed = [(entry.address, entry.kind) for entry in admin.suppressions()]
    assert listed == [("bob@example.org", "manual"), ("ada+test@example.org", "manual"), ("ghost@example.org", "hard")]
    assert [entry.address for entry in admin.suppressions(page_size=1, limit=2)] == [a for a, _ in listed[:2]]
    assert [entry.address for entry in admin.suppressions(address="BOB@example.org")] == ["bob@example.org"]
    admin.remove_suppression("ada+test@example.org")
    with pytest.raises(NotFound):
        admin.remove_suppression("ada+test@example.org")
    admin.remove_suppression("ada+test@example.org", missing_ok=True)
    assert [entry.address for entry in admin.suppressions()] == ["bob@example.org", "ghost@example.org"]
    with pytest.raises(BadRequest) as caught:
        admin.add_suppression("a@example.org", expires_at="2020-01-01T00:00:00Z")
    assert caught.value.details == {"parameter": "expires_at"}


def test_expired_suppressions_only_on_request(admin: MailhookClient, settings: Settings) -> None:
    admin.add_suppression("now@example.org")
    engine = make_engine(settings)
    try:  # an entry whose expiry has passed (the API refuses one): kept for the record, not in force
        add_suppression(engine, "gone@example.org", reason="old", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    finally:
        engine.dispose()
    assert [entry.address for entry in admin.suppressions()] == ["now@example.org"]
    every = {entry.address: entry.expires_at for entry in admin.suppressions(include_expired=True)}
    assert every == {"now@example.org": None, "gone@example.org": datetime(2020, 1, 1, tzinfo=UTC)}


def test_a_read_token_lists_but_cannot_change_the_suppression_list(live_app: str, settings: Settings) -> None:
    with MailhookClient(live_app, make_token(settings, Scope.read)) as reader:
        assert list(reader.bounces()) == [] and list(reader.suppressions()) == []
        with pytest.raises(Forbidden):
            reader.add_suppression("a@example.org")
        with pytest.raises(Forbidden):
            reader.remove_suppression("a@example.org", missing_ok=True)
    with MailhookClient(live_app, "mh_wrong") as stranger, pytest.raises(Unauthorized):
        next(stranger.bounces())


async def test_the_async_client_has_the_same_methods(live_app: str, settings: Settings) -> None:
    record(settings, ("ghost@example.org", "hard", T0), ("full@example.org", "soft", T0 + timedelta(hours=1)))
    async with AsyncMailhookClient(live_app, make_token(settings, Scope.admin), timeout=15) as client:
        assert [b.recipient async for b in client.bounces(page_size=1)] == ["full@example.org", "ghost@example.org"]
        assert [b.recipient async for b in client.bounces(kind="hard", limit=1)] == ["ghost@example.org"]
        made = await client.add_suppression("ada@example.org", reason="asked to stop")
        assert (made.address, made.reason) == ("ada@example.org", "asked to stop")
        listed = [entry.address async for entry in client.suppressions(page_size=1)]
        assert listed == ["ada@example.org", "ghost@example.org"]
        await client.remove_suppression("ada@example.org")
        with pytest.raises(NotFound):
            await client.remove_suppression("ada@example.org")
        await client.remove_suppression("ada@example.org", missing_ok=True)
        assert [entry.address async for entry in client.suppressions()] == ["ghost@example.org"]
