"""Sign test deliveries the way each provider does (../shared/providers.md §3.4, §6.2)."""

from __future__ import annotations

import hashlib
import hmac


def sign_forwardemail(body: bytes, key: str) -> str:
    """``X-Webhook-Signature``: lowercase hex HMAC-SHA256 of the exact body, keyed with the domain key."""
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def sign_mailgun(timestamp: str, token: str, key: str) -> str:
    """Mailgun's ``signature`` field: hex HMAC-SHA256 of ``timestamp + token``."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
