"""The aiosmtpd handler: accept mail for our domains only, store it, then answer.

Reply codes follow the sender's retry semantics, like HTTP status codes do for webhooks:

* ``550 5.7.1`` recipient outside ``smtp.domains``: we are never a relay, the sender gives up.
* ``552 5.3.4`` over ``max_message_bytes`` (aiosmtpd also refuses at ``MAIL SIZE=`` and mid-DATA).
* ``451 4.3.0`` the store is down or failed: the sending MTA keeps the message and retries.
* ``250 2.0.0`` only after the transaction holding the message has committed.

Hostile MIME is never a reason to refuse: whatever the header parser makes of it (or if it raises,
or runs past ``parse_timeout_s``) the exact bytes are stored with the problem in ``defects``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

from service.errors import StorageUnavailable
from service.mail.inbound import InboundEmail
from service.mime.headers import clean_text
from service.smtp.config import SmtpConfig
from service.smtp.message import SmtpEnvelope, build_email, fallback_email
from service.store.messages import StoreResult

log = logging.getLogger("mailhook.smtp")

#: RFC 5321 §4.5.3.1.8: servers must accept at least 100 recipients; more is refused with 452.
MAX_RECIPIENTS = 100

RELAY_DENIED = "550 5.7.1 Relaying denied: recipient domain not accepted here"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
TOO_BIG = "552 5.3.4 Message exceeds the size limit"
TRY_LATER = "451 4.3.0 Temporary storage failure, please try again later"


class Store(Protocol):
    """What the handler needs from ``service.ingest.Ingestor``."""

    async def store(self, emails: Sequence[InboundEmail]) -> list[StoreResult]: ...


class IngestHandler:
    """aiosmtpd handler; ``config`` is called per command so a reloaded domain list applies at once."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], SmtpConfig],
        *,
        parse_timeout_s: float = 10.0,
        store_timeout_s: float = 60.0,
    ) -> None:
        self._store = store
        self._config = config
        self._parse_timeout_s = parse_timeout_s
        self._store_timeout_s = store_timeout_s

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        local, at, domain = address.rpartition("@")
        if not (local and at and self._config().accepts_domain(domain)):
            log.info("refused recipient %r from %s", clean_text(address)[:320], _peer(session))
            return RELAY_DENIED
        if address not in envelope.rcpt_tos:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        config = self._config()
        if len(raw) > config.max_message_bytes:
            return TOO_BIG
        email = await self._normalise(raw, _envelope(session, envelope), config)
        try:
            [result] = await asyncio.wait_for(self._store.store([email]), self._store_timeout_s)
        except StorageUnavailable:
            log.warning("store unavailable; answered 451 to %s", _peer(session))
            return TRY_LATER
        except Exception:  # never 250 for mail we did not commit; the sender retries on 4xx
            log.exception("storing SMTP message from %s failed; answered 451", _peer(session))
            return TRY_LATER
        log.info("stored %s from %s (duplicate=%s)", result.message_id, _peer(session), result.duplicate)
        return f"250 2.0.0 OK stored as {result.message_id}"

    async def _normalise(self, raw: bytes, meta: SmtpEnvelope, config: SmtpConfig) -> InboundEmail:
        """Header parsing in a thread, bounded in time; any failure still yields a storable email."""
        try:
            work = asyncio.to_thread(build_email, raw, meta, config)
            return await asyncio.wait_for(work, self._parse_timeout_s)
        except TimeoutError:
            defect = "header_parse_timeout"
        except Exception as exc:  # hostile MIME can make the stdlib raise nearly anything
            log.warning("header parsing failed (%s); storing raw bytes only", type(exc).__name__)
            defect = f"header_parse_error: {type(exc).__name__}"
        return fallback_email(raw, meta, config, defect)


def _peer(session: Session) -> str:
    peer: Any = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


def _envelope(session: Session, envelope: Envelope) -> SmtpEnvelope:
    """Snapshot the transaction with every client-chosen string cleaned for storage."""
    auth_user = session.auth_data if session.authenticated and isinstance(session.auth_data, str) else None
    return SmtpEnvelope(
        mail_from=clean_text(envelope.mail_from) if envelope.mail_from else None,
        rcpt_tos=list(dict.fromkeys(clean_text(r) for r in envelope.rcpt_tos)),
        peer=_peer(session),
        helo=clean_text(session.host_name)[:255] if session.host_name else None,
        tls=session.ssl is not None,
        auth_user=auth_user,
        mail_options=[clean_text(o)[:255] for o in envelope.mail_options],
    )
