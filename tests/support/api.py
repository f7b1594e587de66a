"""Helpers for read-API tests: tokens straight in the test database, and mail delivered through
the real ImprovMX and raw hooks."""

from __future__ import annotations

import json
import uuid
from email.message import EmailMessage
from typing import Any

import httpx

from service.settings import Settings
from service.store.db import make_engine
from service.store.tokens import Scope, create_token
from tests.conftest import IMPROVMX_SECRET, fixture_json

RAW_SECRET = "raw-secret-0123456789abcdef"
RAW_SOURCE = f"""
sources:
  - {{name: improvmx, provider: improvmx, secrets: ["{IMPROVMX_SECRET}"]}}
  - {{name: raw, provider: raw, secrets: ["{RAW_SECRET}"]}}
"""


def make_token(settings: Settings, scope: Scope = Scope.read, name: str | None = None) -> str:
    engine = make_engine(settings)
    try:
        token, _ = create_token(engine, name=name or f"test-{uuid.uuid4().hex[:8]}", scope=scope)
    finally:
        engine.dispose()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def improvmx_body(to: str, *, subject: str = "Confirm your account", code: str = "731904", **extra: Any) -> bytes:
    """The ImprovMX fixture delivered to ``to`` with a fresh Message-ID (so never a duplicate)."""
    data = fixture_json("improvmx/otp.json")
    data["headers"]["Delivered-To"] = to
    data["to"] = [{"name": None, "email": to}]
    data["subject"] = subject
    data["message-id"] = f"{uuid.uuid4()}@example.net"
    data["text"] = f"Welcome!\n\nEnter this code to confirm your email address: {code}\n"
    data["html"] = (
        f"<p>Your code: <strong>{code}</strong></p><p><a href='https://example.net/verify?t={code}'>Verify</a></p>"
    )
    data.update(extra)
    return json.dumps(data).encode()


async def deliver(client: httpx.AsyncClient, to: str, **kwargs: Any) -> str:
    """POST one ImprovMX delivery; the stored message id."""
    response = await client.post(f"/hooks/improvmx/{IMPROVMX_SECRET}", content=improvmx_body(to, **kwargs))
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


def raw_mime(to: str, *, subject: str = "Your sign-in code", code: str = "482913") -> bytes:
    message = EmailMessage()
    message["From"] = "Acme <no-reply@acme.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@acme.example>"
    message.set_content(f"Hello,\n\nYour verification code is {code}.\n\nhttps://acme.example/login?token={code}abc\n")
    message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    return bytes(message)


async def deliver_raw(client: httpx.AsyncClient, to: str, **kwargs: Any) -> str:
    response = await client.post(
        f"/hooks/raw/{RAW_SECRET}",
        params={"to": to},
        content=raw_mime(to, **kwargs),
        headers={"Content-Type": "message/rfc822"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])
