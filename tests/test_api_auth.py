"""API tokens: stored hashed, checked in constant time, scoped, revocable, never logged; and the
`mailhook tokens` commands."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from service.api.auth import TRUST_S
from service.cli.main import cli
from service.runtime.logs import RedactHookSecrets
from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import Scope, TokenNameTaken, create_token, list_tokens, revoke_token, verify_token
from tests.support.api import bearer, make_token

ROUTES = [
    ("GET", "/api/v1/messages"),
    ("GET", "/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa"),
    ("GET", "/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa/raw"),
    ("GET", "/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa/attachments/0"),
    ("DELETE", "/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa"),
    ("POST", "/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa/replay"),
    ("GET", "/api/v1/cursor"),
    ("GET", "/api/v1/wait?to=a@b.example&timeout=0"),
    ("GET", "/api/v1/addresses"),
    ("POST", "/api/v1/addresses"),
    ("DELETE", "/api/v1/addresses/a@b.example"),
]
ADMIN_ONLY = {"DELETE", "POST"}


def test_token_is_stored_as_its_sha256_only(settings: Settings) -> None:
    engine = make_engine(settings)
    token, row = create_token(engine, name="ci", scope=Scope.read)
    assert token.startswith("mh_") and len(token) == 46
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_sha256 FROM apitoken")).scalar()
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token
    assert verify_token(engine, token) is not None
    assert verify_token(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert verify_token(engine, "not-a-token") is None
    with pytest.raises(TokenNameTaken):
        create_token(engine, name="ci", scope=Scope.admin)
    assert revoke_token(engine, "ci") == 1
    assert verify_token(engine, token) is None
    create_token(engine, name="ci", scope=Scope.admin)  # the name is free again once revoked
    assert revoke_token(engine, str(row.id)) == 0  # already revoked
    assert [t.revoked_at is None for t in list_tokens(engine)] == [False, True]
    engine.dispose()


def test_last_used_is_recorded(settings: Settings) -> None:
    engine = make_engine(settings)
    token, _ = create_token(engine, name="ci", scope=Scope.read)
    assert list_tokens(engine)[0].last_used_at is None
    verify_token(engine, token)
    assert list_tokens(engine)[0].last_used_at is not None
    engine.dispose()


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_a_valid_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer mh_" + "x" * 43}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_scopes(client: httpx.AsyncClient, settings: Settings, method: str, path: str) -> None:
    read = await client.request(method, path, headers=bearer(make_token(settings, Scope.read)))
    admin = await client.request(method, path, headers=bearer(make_token(settings, Scope.admin)))
    if method in ADMIN_ONLY:
        assert read.status_code == 403 and read.json()["error"] == "forbidden"
    else:
        assert read.status_code not in (401, 403)
    assert admin.status_code not in (401, 403)


async def test_revoked_token_is_refused_within_a_second(client: httpx.AsyncClient, settings: Settings) -> None:
    token = make_token(settings, name="short-lived")
    assert (await client.get("/api/v1/cursor", headers=bearer(token))).status_code == 200
    engine = make_engine(settings)
    revoke_token(engine, "short-lived")
    engine.dispose()
    await asyncio.sleep(TRUST_S)
    assert (await client.get("/api/v1/cursor", headers=bearer(token))).status_code == 401


def test_tokens_commands_create_list_revoke(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILHOOK_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    created = runner.invoke(cli, ["tokens", "create", "--name", "ci", "--scope", "admin"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    engine = make_engine(settings)
    assert verify_token(engine, token) is not None
    listed = runner.invoke(cli, ["tokens", "list"])
    assert "ci" in listed.output and "admin" in listed.output and "active" in listed.output
    assert token not in listed.output
    assert runner.invoke(cli, ["tokens", "create", "--name", "ci"]).exit_code == 1
    assert runner.invoke(cli, ["tokens", "revoke", "ci"]).exit_code == 0
    assert runner.invoke(cli, ["tokens", "revoke", "ci"]).exit_code == 1
    assert verify_token(engine, token) is None
    engine.dispose()


def test_tokens_never_reach_the_log() -> None:
    token = "mh_" + "A1b2" * 10 + "xyz"
    record = logging.LogRecord("mailhook", logging.WARNING, __file__, 1, "refused %s", (f"Bearer {token}",), None)
    RedactHookSecrets().filter(record)
    assert token not in record.getMessage()
    assert "mh_***" in record.getMessage()
