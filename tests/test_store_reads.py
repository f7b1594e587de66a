"""The read side of the store: recipient rows written by both insert paths, indexed queries,
claims, deletes, and the 0004 backfill of recipient rows for mail stored before it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from service.mail.inbound import Address, InboundEmail
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.bounces import BounceEvent
from service.store.db import make_engine
from service.store.ids import new_id
from service.store.message_rows import NewMessage
from service.store.messages import _insert_portable, store_batch
from service.store.migrate import upgrade
from service.store.models import Message
from service.store.reads import (
    MessageQuery,
    _conditions,
    bounce_of,
    claim,
    claim_oldest,
    delete_message,
    list_page,
)
from service.store.recipients import Recipient, recipients_of, split_address
from service.store.sqlite_insert import insert_sqlite


def _email(*envelope: str, to: tuple[str, ...] = (), cc: tuple[str, ...] = ()) -> InboundEmail:
    return InboundEmail(
        provider="improvmx",
        source="improvmx",
        idempotency_key=new_id(),
        raw_payload=b"{}",
        envelope_to=list(envelope),
        to=[Address(None, a) for a in to],
        cc=[Address(None, a) for a in cc],
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Signup+Run1@QA.Example.com", ("signup+run1@qa.example.com", "signup@qa.example.com", "run1")),
        ("signup@x.org", ("signup@x.org", "signup@x.org", None)),
        ("a+b+c@x.org", ("a+b+c@x.org", "a@x.org", "b+c")),
        ("+tag@x.org", ("+tag@x.org", "+tag@x.org", None)),
        (" spaced@x.org ", ("spaced@x.org", "spaced@x.org", None)),
        ("no-at-sign", ("no-at-sign", "no-at-sign", None)),
    ],
)
def test_split_address(value: str, expected: tuple[str, str, str | None]) -> None:
    assert split_address(value) == Recipient(*expected)


def test_recipients_are_distinct_envelope_first() -> None:
    email = _email(
        "Signup+1@x.org", to=("signup+1@X.org", "boss@x.org"), cc=("cc@x.org", "x" * 400 + "@x.org", "nul\x00@x.org")
    )
    assert [r.address for r in recipients_of(email)] == ["signup+1@x.org", "boss@x.org", "cc@x.org"]


def _recipient_rows(engine: Engine) -> set[tuple[str, str, str, str | None]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(text("SELECT message_id, address, base, tag FROM messagerecipient"))}


@pytest.mark.parametrize("writer", [insert_sqlite, _insert_portable])
def test_both_insert_paths_write_the_same_recipient_rows(
    engine: Engine, writer: Callable[[Engine, list[NewMessage]], object]
) -> None:
    email = _email("signup+a@x.org", to=("signup+a@x.org",), cc=("Team@X.org",))
    plan = NewMessage(new_id(), email, None, [])
    writer(engine, [plan])
    assert _recipient_rows(engine) == {
        (plan.mid, "signup+a@x.org", "signup@x.org", "a"),
        (plan.mid, "team@x.org", "team@x.org", None),
    }


def _plan_of(engine: Engine, query: MessageQuery) -> list[str]:
    stmt = select(Message).where(*_conditions(query)).order_by(col(Message.id).desc()).limit(50)
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        return [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql)]


@pytest.mark.parametrize(
    "query",
    [
        MessageQuery(to=split_address("signup@x.org")),
        MessageQuery(to=split_address("signup+run1@x.org")),
        MessageQuery(tag="run1"),
        MessageQuery(to=split_address("signup+run1@x.org"), after="01aaaaaaaaaaaaaaaaaaaaaaaa", unclaimed=True),
    ],
)
def test_recipient_and_tag_filters_use_indexes_not_scans(
    engine: Engine, settings: Settings, query: MessageQuery
) -> None:
    store_batch(engine, BlobStore(settings.blob_dir), [_email(f"signup+run{i}@x.org") for i in range(50)])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    plan = _plan_of(engine, query)
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert any("ix_messagerecipient" in step for step in plan), plan


def test_claim_is_true_once(engine: Engine, settings: Settings) -> None:
    [stored] = store_batch(engine, BlobStore(settings.blob_dir), [_email("pool@x.org")])
    assert claim(engine, stored.message_id) is True
    assert claim(engine, stored.message_id) is False
    assert claim_oldest(engine, MessageQuery(to=split_address("pool@x.org"))) is None


def test_claim_oldest_takes_them_in_order(engine: Engine, settings: Settings) -> None:
    stored = store_batch(engine, BlobStore(settings.blob_dir), [_email("pool@x.org") for _ in range(3)])
    query = MessageQuery(to=split_address("pool@x.org"))
    claimed = [claim_oldest(engine, query) for _ in range(4)]
    assert claimed == [s.message_id for s in stored] + [None]


def test_list_page_newest_first_between_bounds(engine: Engine, settings: Settings) -> None:
    stored = store_batch(engine, BlobStore(settings.blob_dir), [_email("p@x.org") for _ in range(5)])
    ids = [r.message_id for r in stored]
    page = list_page(engine, MessageQuery(after=ids[0], before=ids[4]), limit=10)
    assert [m.id for m in page] == [ids[3], ids[2], ids[1]]


def test_delete_keeps_blobs_another_message_references(engine: Engine, settings: Settings) -> None:
    blobs = BlobStore(settings.blob_dir)
    one = replace(_email("a@x.org"), raw_mime=b"Subject: same\r\n\r\nbody")
    two = replace(_email("b@x.org"), raw_mime=b"Subject: same\r\n\r\nbody")
    first, second = store_batch(engine, blobs, [one, two])
    assert delete_message(engine, first.message_id) == []
    [sha] = delete_message(engine, second.message_id) or []
    assert blobs.exists(sha)  # the caller removes it after the commit
    assert delete_message(engine, second.message_id) is None
    assert _recipient_rows(engine) == set()


def test_migration_backfills_recipients_of_older_mail(tmp_path: Path) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO message (id, source, provider, idempotency_key, received_at, envelope_to, "to", cc,'
                " reply_to, headers, auth, defects, status, attempts, updated_at) VALUES"
                " ('01old', 's', 'p', 'k', '2026-01-01 00:00:00', :env, :to, '[]', '[]', '[]', '{}', '[]',"
                " 'processed', 1, '2026-01-01 00:00:00')"
            ),
            {"env": json.dumps(["Signup+Old@X.org"]), "to": json.dumps([{"name": None, "address": "team@x.org"}])},
        )
    upgrade(engine)
    assert _recipient_rows(engine) == {
        ("01old", "signup+old@x.org", "signup@x.org", "old"),
        ("01old", "team@x.org", "team@x.org", None),
    }
    engine.dispose()


def test_bounce_of_reports_the_worst_recipient(engine: Engine, settings: Settings) -> None:
    [stored] = store_batch(engine, BlobStore(settings.blob_dir), [_email("bounces@x.org")])
    assert bounce_of(engine, stored.message_id) is None
    with Session(engine) as session:
        for recipient, kind, reason in [("a@y.org", "soft", "mailbox_full"), ("b@y.org", "hard", "user_unknown")]:
            session.add(
                BounceEvent(
                    recipient=recipient,
                    kind=kind,
                    reason=reason,
                    status="5.1.1" if kind == "hard" else "4.2.2",
                    source="bounces",
                    provider="mail",
                    provider_event_id=recipient,
                    message_id=stored.message_id,
                    occurred_at=datetime.now(UTC),
                )
            )
        session.commit()
    assert bounce_of(engine, stored.message_id) == {
        "kind": "hard",
        "reason": "user_unknown",
        "status": "5.1.1",
        "reply_code": None,
        "recipients": ["a@y.org", "b@y.org"],
        "diagnostic": None,
    }
