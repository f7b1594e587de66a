"""The web inbox on PostgreSQL: sessions, read state, the browse queries and the (status, id) /
(source, id) indexes, through the real app."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.browse import latest_of_source, newest_id, oldest_pending
from service.store.db import make_engine
from service.store.tokens import Scope
from tests.support.servers import serve_in_thread
from tests.support.ui import csrf_of, deliver, make_token, signed_in, ui_config
from tests.test_postgres import pg_settings  # noqa: F401  (the fixture)

pytestmark = pytest.mark.postgres


def test_the_inbox_works_on_postgres(pg_settings: Settings) -> None:  # noqa: F811
    ui_config(pg_settings)
    token = make_token(pg_settings, Scope.admin)
    with serve_in_thread(create_web_app(pg_settings)) as base, signed_in(base, token) as http:
        first = deliver(base, "signup+run1@example.com", subject="First")
        second = deliver(base, "signup+run2@example.com", subject="Second")
        page = http.get("/ui", params={"q": "to:signup@example.com status:pending"}).text
        assert page.index(second) < page.index(first) and page.count('class="msg unread"') == 2
        http.get(f"/ui/messages/{first}")
        http.get(f"/ui/messages/{first}")  # seen twice: one row, no conflict error
        assert http.get("/ui").text.count('class="msg unread"') == 1
        csrf = csrf_of(http.get("/ui").text)
        assert http.post(f"/ui/messages/{first}/unread", data={"csrf": csrf}).status_code == 303
        assert http.get("/ui", params={"q": "second"}).text.count("data-id=") == 1
        assert "queue-depth" in http.get("/ui/status").text
    engine = make_engine(pg_settings)
    assert newest_id(engine) == second
    pending = oldest_pending(engine)
    assert pending is not None and pending.id == first
    latest = latest_of_source(engine, "raw")
    assert latest is not None and latest.id == second
    with engine.connect() as conn:
        indexes = {row[0] for row in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'message'"))}
        sessions = conn.execute(text("SELECT count(*) FROM uisession")).scalar()
    assert {"ix_message_status_id", "ix_message_source_id"} <= indexes and "ix_message_status" not in indexes
    assert sessions == 1
    engine.dispose()
