"""The bounce store on the real (migrated) SQLite: idempotency, the suppression policy, links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from service.config import SuppressionConfig
from service.mail.bounce import BouncedRecipient, BounceReport
from service.mail.inbound import InboundEmail
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.bounce_writes import record_bounce_report, record_events
from service.store.bounces import BounceEventCreate, list_bounces
from service.store.db import make_engine
from service.store.messages import store_batch
from service.store.suppressions import active_suppressions, add_suppression, list_suppressions, remove_suppression

NOW = datetime.now(UTC)
POLICY = SuppressionConfig()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings)
    yield built
    built.dispose()


def event(key: str, recipient: str = "ghost@example.org", kind: Any = "hard", **fields: Any) -> BounceEventCreate:
    values: dict[str, Any] = {
        "source": "ses",
        "provider": "ses",
        "provider_event_id": key,
        "recipient": recipient,
        "kind": kind,
        "reason": "user_unknown" if kind == "hard" else "mailbox_full",
        "occurred_at": NOW,
        "status": "5.1.1" if kind == "hard" else "4.2.2",
        **fields,
    }
    return BounceEventCreate(**values)


def test_recording_is_idempotent_on_source_and_event_id(engine: Engine) -> None:
    first = record_events(engine, [event("a"), event("b", "other@example.org")], POLICY)
    again = record_events(engine, [event("b", "other@example.org"), event("a"), event("a")], POLICY)
    assert [r.duplicate for r in first] == [False, False]
    assert [(r.id, r.duplicate) for r in again] == [(first[1].id, True), (first[0].id, True), (first[0].id, True)]
    assert len(list_bounces(engine)) == 2
    # The same provider id from another source is another event.
    record_events(engine, [event("a", source="postmark-bounces")], POLICY)
    assert len(list_bounces(engine)) == 3


def test_hard_bounce_and_complaint_suppress_at_once(engine: Engine) -> None:
    record_events(engine, [event("h", "Ghost@Example.org"), event("c", "carol@example.com", kind="complaint")], POLICY)
    found = active_suppressions(engine, ["ghost@example.org", "CAROL@example.com", "fine@example.com"])
    assert set(found) == {"ghost@example.org", "carol@example.com"}
    assert found["ghost@example.org"].reason == "hard bounce (user_unknown, 5.1.1)"
    assert found["carol@example.com"].kind == "complaint" and found["carol@example.com"].source == "ses"


def test_soft_bounces_suppress_after_the_limit_within_the_window(engine: Engine) -> None:
    old = NOW - timedelta(days=8)
    record_events(engine, [event("s0", kind="soft", occurred_at=old)], POLICY)  # outside the 7-day window
    record_events(engine, [event("s1", kind="soft"), event("s2", kind="soft")], POLICY)
    assert active_suppressions(engine, ["ghost@example.org"]) == {}
    record_events(engine, [event("s2", kind="soft")], POLICY)  # a redelivery does not count again
    assert active_suppressions(engine, ["ghost@example.org"]) == {}
    record_events(engine, [event("s3", kind="soft")], POLICY)
    [entry] = active_suppressions(engine, ["ghost@example.org"]).values()
    assert entry.kind == "soft" and entry.reason.startswith("3 soft bounces within 7 days")


def test_delayed_never_suppresses(engine: Engine) -> None:
    record_events(engine, [event(f"d{i}", kind="delayed") for i in range(5)], POLICY)
    assert active_suppressions(engine, ["ghost@example.org"]) == {}


def test_entries_expire_when_configured(engine: Engine) -> None:
    policy = SuppressionConfig(expire_after_days=30)
    record_events(engine, [event("h")], policy)
    [entry] = active_suppressions(engine, ["ghost@example.org"]).values()
    assert entry.expires_at is not None and timedelta(days=29) < entry.expires_at - NOW < timedelta(days=31)
    assert active_suppressions(engine, ["ghost@example.org"], now=NOW + timedelta(days=31)) == {}
    # An expired entry is replaced by the next hard bounce.
    record_events(engine, [event("h2")], policy, now=NOW + timedelta(days=31))
    assert active_suppressions(engine, ["ghost@example.org"], now=NOW + timedelta(days=32))


def test_manual_add_list_remove(engine: Engine) -> None:
    add_suppression(engine, " <Someone@Example.org> ", reason="asked to stop")
    [entry] = list_suppressions(engine)
    assert (entry.address, entry.kind, entry.reason, entry.source) == (
        "someone@example.org",
        "manual",
        "asked to stop",
        "cli",
    )
    assert remove_suppression(engine, "SOMEONE@example.org") is True
    assert remove_suppression(engine, "someone@example.org") is False
    assert list_suppressions(engine) == []


def test_a_bounce_does_not_overwrite_an_active_manual_entry(engine: Engine) -> None:
    add_suppression(engine, "ghost@example.org", reason="by hand")
    record_events(engine, [event("h")], POLICY)
    [entry] = list_suppressions(engine)
    assert (entry.kind, entry.reason) == ("manual", "by hand")


def test_record_bounce_report_one_event_per_recipient_and_idempotent(engine: Engine) -> None:
    recipients = [
        BouncedRecipient("ghost@example.org", "5.1.1", 550, "550 5.1.1 user unknown", "hard", "user_unknown"),
        BouncedRecipient("full@example.org", "4.2.2", 452, "mailbox full", "soft", "mailbox_full"),
    ]
    report = BounceReport(
        "hard",
        "user_unknown",
        "5.1.1",
        550,
        "550 5.1.1 user unknown",
        recipients,
        "mx.example.org",
        "<o-1@example.com>",
    )
    first = record_bounce_report(engine, report, source="smtp", message_id="01JEXAMPLE0000000000000000")
    again = record_bounce_report(engine, report, source="smtp", message_id="01JEXAMPLE0000000000000000")
    assert [r.duplicate for r in first] == [False, False] and [r.duplicate for r in again] == [True, True]
    rows = list_bounces(engine, recipient="GHOST@example.org")
    assert [(r.kind, r.message_id, r.provider, r.reporting_mta) for r in rows] == [
        ("hard", "01JEXAMPLE0000000000000000", "mail", "mx.example.org")
    ]
    assert set(active_suppressions(engine, ["ghost@example.org", "full@example.org"])) == {"ghost@example.org"}


def test_list_bounces_filters(engine: Engine) -> None:
    record_events(engine, [event("h"), event("s", "b@example.org", kind="soft")], POLICY)
    assert [r.recipient for r in list_bounces(engine, kind="soft")] == ["b@example.org"]
    assert [r.recipient for r in list_bounces(engine, source="ses", limit=1)] in (
        ["ghost@example.org"],
        ["b@example.org"],
    )


def test_a_bounce_of_our_forward_links_the_forwarded_message(engine: Engine, settings: Settings) -> None:
    stored = store_batch(engine, BlobStore(settings.blob_dir), [_email()])[0].message_id
    ours = f"<{stored}.0123456789abcdef@relay.example>"
    unknown = "<01jexample0000000000000000.0123456789abcdef@relay.example>"
    record_events(
        engine, [event("ours", forwarded_candidates=(ours,)), event("x", forwarded_candidates=(unknown,))], POLICY
    )
    linked = {row.provider_event_id: row.forwarded_message_id for row in list_bounces(engine)}
    assert linked == {"ours": stored, "x": None}


def _email() -> InboundEmail:
    return InboundEmail(provider="raw", source="raw", idempotency_key="k-1", raw_payload=b"{}", message_id="<m@x>")


def test_hostile_provider_text_is_stored(engine: Engine) -> None:
    hostile = event("id-\ud800\x00", "ghost@example.org", diagnostic="a\x00b\udfff", raw={"n": float("nan")})
    first = record_events(engine, [hostile], POLICY)
    assert record_events(engine, [hostile], POLICY)[0] == type(first[0])(first[0].id, True)
    [row] = list_bounces(engine)
    assert row.diagnostic == "ab?" and row.raw == {"n": None} and row.provider_event_id == "id-?"
