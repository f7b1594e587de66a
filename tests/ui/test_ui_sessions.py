"""UI sessions in the store: what is kept, how they end."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import text, update

from service.settings import Settings
from service.store.db import make_engine
from service.store.models import table_of, utcnow
from service.store.sessions import IDLE_TIMEOUT, MAX_AGE, UiSession, create_session, end_session, find_session
from service.store.tokens import Scope, create_token, revoke_token


def test_a_session_keeps_the_tokens_id_scope_and_its_own_csrf_never_the_token(settings: Settings) -> None:
    engine = make_engine(settings)
    token, row = create_token(engine, name="qa", scope=Scope.read)
    session_id = create_session(engine, row)
    found = find_session(engine, session_id)
    assert found is not None and (found.token_id, found.token_name, found.scope) == (row.id, "qa", "read")
    assert found.allows(Scope.read) and not found.allows(Scope.admin) and len(found.csrf) >= 40
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM uisession")).all()
    assert token not in str(stored) and session_id not in str(stored)
    assert find_session(engine, session_id + "x") is None and find_session(engine, "") is None


def test_sessions_end_when_idle_too_old_signed_out_or_revoked(settings: Settings) -> None:
    engine = make_engine(settings)
    _, row = create_token(engine, name="qa", scope=Scope.admin)
    idle, old, out, revoked = (create_session(engine, row) for _ in range(4))
    table = table_of(UiSession)
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id_sha256 == _sha(idle))
            .values(last_seen_at=utcnow() - IDLE_TIMEOUT - timedelta(seconds=1))
        )
        conn.execute(
            update(table)
            .where(table.c.id_sha256 == _sha(old))
            .values(created_at=utcnow() - MAX_AGE - timedelta(seconds=1))
        )
    end_session(engine, out)
    assert (
        find_session(engine, idle) is None and find_session(engine, old) is None and find_session(engine, out) is None
    )
    assert find_session(engine, revoked) is not None
    revoke_token(engine, "qa")
    assert find_session(engine, revoked) is None


def _sha(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
