"""The SQLite ingest path builds its INSERT values by hand; they must stay exactly what
SQLAlchemy would bind, so rows read back through the ORM are the same whichever path wrote them."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel

from service.config import parse_config
from service.mail.inbound import Address, InboundEmail, parse_date
from service.providers import INBOUND_PROVIDERS, Delivery
from service.settings import Settings
from service.store.db import make_engine
from service.store.fastinsert import FastInsert, json_name_address_list, json_string_pairs, json_text, sqlite_datetime
from service.store.ids import new_id
from service.store.message_rows import MESSAGE_COLUMNS, SQLITE, message_row, message_values
from service.store.models import Message, table_of
from tests.conftest import fixture_bytes

_SOURCE = parse_config("sources: [{name: improvmx, provider: improvmx, secrets: [s-0123456789abcdef]}]").sources[0]


def _improvmx_email() -> InboundEmail:
    [email] = INBOUND_PROVIDERS["improvmx"]().parse(
        Delivery(source=_SOURCE, body=fixture_bytes("improvmx/otp.json"), headers={}, query={})
    )
    return email


def _variants() -> list[InboundEmail]:
    base = _improvmx_email()
    minus_eight = timezone(timedelta(hours=-8))
    return [
        base,
        replace(
            base,
            cc=[Address('Ünïcode "quoted"', "cc@example.org"), Address(None, "cc2@example.org")],
            reply_to=[Address(None, "reply@example.org")],
            auth={"spf": "pass", "dkim": "fail"},
            defects=["MissingHeaderBodySeparatorDefect"],
            date=datetime(2020, 2, 13, 13, 44, 12, tzinfo=minus_eight),
            received_at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            raw_mime=b"From: a@example.org\r\n\r\nhi",
            header_from=None,
            headers=[("X-Emoji", "\U0001f600"), ("X-Control", "a\x00b\nc")],
            envelope_to=[],
            bcc=[Address("Blind Ünïcode", "bcc@example.org"), Address(None, "bcc2@example.org")],
            spam={"flag": "Yes", "score": "7.5"},
            stripped_text="Thanks!",
        ),
        replace(base, date=None, subject=None, text=None, html=None, to=[], provider_event_id="evt-1"),
        replace(base, date=datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ]


@pytest.mark.parametrize("email", _variants(), ids=["improvmx", "everything-set", "sparse", "year-5"])
def test_message_values_equal_what_sqlalchemy_binds(email: InboundEmail) -> None:
    mid, raw_sha = new_id(), "ab" * 32 if email.raw_mime else None
    updated_at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    row = message_row(mid, email, raw_sha, updated_at)
    expected = FastInsert(table_of(Message), sqlite.dialect(), MESSAGE_COLUMNS).rows([row])[0]
    assert message_values(mid, email, raw_sha, sqlite_datetime(updated_at), SQLITE) == expected


def test_message_columns_cover_every_column_the_orm_does_not_default() -> None:
    # All start NULL: the worker sets parsed_at (and bounce, for bounce mail), a claiming waiter claimed_at.
    left_out = set(table_of(Message).columns.keys()) - set(MESSAGE_COLUMNS)
    assert left_out == {"parsed_at", "claimed_at", "bounce"}


def test_sqlite_datetime_refuses_naive_datetimes_like_sqlalchemy() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sqlite_datetime(datetime(2020, 1, 1))


def test_sqlite_datetime_converts_other_zones_to_utc() -> None:
    tokyo = datetime(2020, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert sqlite_datetime(tokyo) == "2020-01-01 00:00:00.000000"


_AWKWARD = ["", "plain", 'q"uote\\', "Ünïcode", "\U0001f600", "\ud800 lone surrogate", "ctl\x00\x1f\n\t", "</script>"]


def test_json_string_pairs_equal_json_dumps() -> None:
    pairs = [(a, b) for a in _AWKWARD for b in _AWKWARD]
    assert json_string_pairs(pairs) == json.dumps([[k, v] for k, v in pairs])
    assert json_string_pairs([]) == "[]"
    # A value that is not a string, on purpose: the fallback must still give json.dumps's output.
    assert json_string_pairs([("X-Count", 3)]) == json.dumps([["X-Count", 3]])  # type: ignore[list-item]


def test_json_name_address_list_equals_json_dumps() -> None:
    items = [(n, a) for n in [None, *_AWKWARD] for a in _AWKWARD]
    assert json_name_address_list(items) == json.dumps([{"name": n, "address": a} for n, a in items])
    # A name that is not a string, on purpose: the fallback must still give json.dumps's output.
    assert json_name_address_list([(7, "a@b")]) == json.dumps([{"name": 7, "address": "a@b"}])  # type: ignore[list-item]


def test_json_text_of_empty_values() -> None:
    assert (json_text([]), json_text({}), json_text(())) == ("[]", "{}", "[]")


def _reference_id(value: int) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    chars = []
    for _ in range(26):
        chars.append(alphabet[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def test_new_id_is_the_crockford_ulid_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in [0, 1, 2**128 - 1, *(secrets.randbits(128) for _ in range(2000))]:
        monkeypatch.setattr("service.store.ids.time.time_ns", lambda v=value: (v >> 80) * 1_000_000)
        monkeypatch.setattr("service.store.ids.secrets.randbits", lambda _bits, v=value: v & (2**80 - 1))
        assert new_id() == _reference_id(value)


def test_new_ids_sort_by_time() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_parse_date_drops_dates_past_the_end_of_time_in_utc() -> None:
    # 23:59 at -01:00 on 31 Dec 9999 is in year 10000 in UTC: storing it would fail the whole batch.
    assert parse_date("Fri, 31 Dec 9999 23:59:59 -0100") is None
    assert parse_date("Fri, 31 Dec 9999 23:59:59 +0100") == datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)


def test_migrations_create_exactly_the_tables_the_models_declare(settings: Settings) -> None:
    # A new column (bcc, spam, stripped_text) in models.py needs its alembic revision too.
    with make_engine(settings).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
