"""Sign test deliveries the way each provider does (../shared/providers.md §3.4, §6.2; bounces.md §4.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: The SendGrid Event Webhook verification key pair; the public half is configured as the
#: console shows it (base64 DER SubjectPublicKeyInfo).
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def sign_forwardemail(body: bytes, key: str) -> str:
    """``X-Webhook-Signature``: lowercase hex HMAC-SHA256 of the exact body, keyed with the domain key."""
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def sign_mailgun(timestamp: str, token: str, key: str) -> str:
    """Mailgun's ``signature`` field: hex HMAC-SHA256 of ``timestamp + token``."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def sign_sendgrid(timestamp: str, body: bytes, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY) -> str:
    """``X-Twilio-Email-Event-Webhook-Signature``: base64 DER ECDSA/SHA-256 over timestamp + raw body."""
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
