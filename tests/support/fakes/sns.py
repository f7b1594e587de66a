"""A local stand-in for Amazon SNS's side of an HTTPS subscription.

``FakeSns`` serves a signing certificate at ``/SimpleNotificationService-<hex>.pem`` and the
``ConfirmSubscription`` API at ``/``, and records every request, so tests can tell whether
Mailhook fetched (or did not fetch) something. Messages are signed as SNS signs them: RSA
PKCS#1 v1.5 over ``Key\\nvalue\\n`` lines (written here from AWS's documentation, independent
of the code under test), SHA1 for SignatureVersion 1 and SHA256 for 2.

The server runs once per test process on 127.0.0.1; ``tests/conftest.py`` sets the
``sns_cert_origin`` setting to loopback so the certificate URL check accepts it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

TOPIC = "arn:aws:sns:eu-west-1:111122223333:ses-bounces"
INBOUND_TOPIC = "arn:aws:sns:eu-west-1:111122223333:ses-inbound"
FOREIGN_TOPIC = "arn:aws:sns:eu-west-1:999988887777:someone-elses-topic"
CERT_NAME = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    """Certificate host and ConfirmSubscription endpoint; ``requests`` lists every path asked for."""

    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    requests: list[str] = field(default_factory=list)
    confirmations: list[dict[str, str]] = field(default_factory=list)
    base: str = ""

    def app(self) -> Starlette:
        certificate = _certificate(self.key)

        async def cert(request: Request) -> Response:
            self.requests.append(request.url.path)
            if request.path_params["name"] != CERT_NAME:
                return PlainTextResponse("not found", 404)
            return Response(certificate, media_type="application/x-pem-file")

        async def api(request: Request) -> Response:
            self.requests.append(request.url.path + "?" + request.url.query)
            self.confirmations.append(dict(request.query_params))
            if request.query_params.get("Action") != "ConfirmSubscription":
                return PlainTextResponse("<Error/>", 400)
            return PlainTextResponse("<ConfirmSubscriptionResponse/>", media_type="text/xml")

        return Starlette(routes=[Route("/{name:str}", cert), Route("/", api)])

    @property
    def cert_url(self) -> str:
        return f"{self.base}/{CERT_NAME}"

    def sign(self, fields: dict[str, str], version: str = "2", key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        """Add ``SignatureVersion``, ``SigningCertURL`` (unless set) and ``Signature`` as SNS does."""
        fields = {"SignatureVersion": version, "SigningCertURL": self.cert_url, **fields}
        text = "".join(f"{name}\n{fields[name]}\n" for name in _KEYS[fields["Type"]] if name in fields)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {**fields, "Signature": base64.b64encode(signature).decode()}

    def notification(self, message: dict[str, Any] | str, *, topic: str = TOPIC, **overrides: str) -> dict[str, str]:
        body = message if isinstance(message, str) else json.dumps(message)
        fields = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid5(uuid.NAMESPACE_OID, body + topic)),
            "TopicArn": topic,
            "Subject": "Amazon SES Email Event Notification",
            "Message": body,
            "Timestamp": "2025-03-04T10:15:31.204Z",
            "UnsubscribeURL": f"{self.base}/?Action=Unsubscribe&SubscriptionArn={topic}:1a2b",
        }
        version = overrides.pop("SignatureVersion", "2")
        return self.sign({**fields, **overrides}, version)

    def confirmation(self, *, topic: str = TOPIC, kind: str = "SubscriptionConfirmation") -> dict[str, str]:
        token = "2336412f37fb687f5d51e6e2425dacbba1d1f8b11e3a6ac2fd2c5b9a0b4d8c9a"
        fields = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.",
            "SubscribeURL": f"{self.base}/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}",
            "Timestamp": "2025-03-04T10:10:00.000Z",
        }
        return self.sign(fields)


def delivery_headers(envelope: dict[str, str]) -> dict[str, str]:
    """The headers SNS sends with a message (JSON posted as text/plain)."""
    return {
        "content-type": "text/plain; charset=UTF-8",
        "user-agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": envelope.get("Type", ""),
        "x-amz-sns-message-id": envelope.get("MessageId", ""),
        "x-amz-sns-topic-arn": envelope.get("TopicArn", ""),
    }


_lock = threading.Lock()
_running: FakeSns | None = None
# Holds the server's context open: a collected generator context manager would stop it.
_stack = contextlib.ExitStack()


def fake_sns() -> FakeSns:
    """The process's fake SNS, started on first use and running until ``stop_fake_sns``."""
    global _running
    with _lock:
        if _running is None:
            fake = FakeSns()
            fake.base = _stack.enter_context(serve_in_thread(fake.app()))
            _running = fake
        return _running


def stop_fake_sns() -> None:
    """Stop the fake SNS server, if one started (``tests/conftest.py`` calls this as the session ends).

    It must not outlive the test session: a uvicorn (and its uvloop) still running in a daemon
    thread while the interpreter finalises can crash the process after every test has passed.
    """
    global _running
    with _lock:
        _stack.close()
        _running = None
