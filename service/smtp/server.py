"""Running the SMTP server inside an existing event loop (``mailhook dev``) or on its own (``mailhook smtp``).

Each connection gets an aiosmtpd ``SMTP`` protocol built from the ``smtp:`` config read at start;
TLS, AUTH policy and the size limit need a restart, while domains, source and users are read from
the config holder on every command so a reload applies to the next transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import socket
import ssl
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from service.config import ConfigError, ConfigHolder
from service.ingest.ingestor import Ingestor
from service.providers import PROVIDERS
from service.runtime.process import freeze_startup_objects
from service.runtime.reload import install_sighup_reload
from service.settings import Settings
from service.smtp.config import SmtpConfig, SmtpUser
from service.smtp.data import BufferedDataSMTP
from service.smtp.handler import IngestHandler
from service.smtp.limits import TOO_MANY, ConnectionLimiter

log = logging.getLogger("mailhook.smtp")

STOP_TIMEOUT_S = 5.0


class MailhookSMTP(BufferedDataSMTP):
    """aiosmtpd's protocol with a configurable line-length limit and session caps.

    aiosmtpd refuses any line over RFC 5321's 1000 octets with a permanent 500, so a message
    with one long base64 or header line would be lost. Real MTAs are lenient here; we accept
    lines up to the message size limit, which already bounds the memory one session may use.
    ``limiter`` bounds how many sessions (so how many such buffers) exist at once.
    """

    def __init__(self, handler: Any, *, line_length_limit: int, limiter: ConnectionLimiter, **kwargs: Any) -> None:
        self.line_length_limit = line_length_limit
        self._limiter = limiter
        self._counted_ip: str | None = None
        self._refused = False
        super().__init__(handler, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._counted_ip is None and self._original_transport is None:  # not the STARTTLS re-entry
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if peer else "?"
            if not self._limiter.acquire(ip):
                self._refused = True
                log.warning("SMTP connection from %s refused: %d sessions open", ip, self._limiter.active)
                # A TCP (or TLS) connection's transport writes; BaseTransport is asyncio's signature.
                cast(asyncio.WriteTransport, transport).write(TOO_MANY)
                transport.close()
                return
            self._counted_ip = ip
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._counted_ip is not None:
            self._limiter.release(self._counted_ip)
            self._counted_ip = None
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._refused else super().eof_received()


def tls_context(config: SmtpConfig) -> ssl.SSLContext | None:
    """Server context for STARTTLS; a missing or unreadable cert/key is a config error, found at start."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"smtp.tls_cert/tls_key: cannot load {config.tls_cert} / {config.tls_key}: {exc}") from None
    return context


def find_user(users: Sequence[SmtpUser], login: bytes, password: bytes) -> str | None:
    """Constant-time check against every configured user (no early exit on the first match)."""
    found: str | None = None
    for user in users:
        name_ok = hmac.compare_digest(user.username.encode(), login)
        password_ok = hmac.compare_digest(user.password.get_secret_value().encode(), password)
        if name_ok and password_ok and found is None:
            found = user.username
    return found


def make_authenticator(config: Callable[[], SmtpConfig]) -> Callable[..., AuthResult]:
    """aiosmtpd ``authenticator``: PLAIN and LOGIN both arrive as ``LoginPassword``."""

    def authenticate(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = find_user(config().auth_users, data.login, data.password)
        if user is None:
            log.warning("SMTP AUTH %s failed from %s", mechanism, getattr(session, "peer", "?"))
        return AuthResult(success=user is not None, handled=False, auth_data=user)

    return authenticate


def protocol_factory(
    handler: IngestHandler,
    config: SmtpConfig,
    current: Callable[[], SmtpConfig],
    *,
    hostname: str,
    context: ssl.SSLContext | None,
) -> Callable[[], SMTP]:
    """Everything decided once at start; the factory only instantiates per connection."""
    options: dict[str, Any] = {
        "data_size_limit": config.max_message_bytes,
        "line_length_limit": config.max_message_bytes + 3,
        "enable_SMTPUTF8": True,
        "hostname": hostname,
        "ident": "Mailhook",
        "tls_context": context,
        "require_starttls": config.require_tls,
        "auth_required": config.requires_auth,
        "auth_require_tls": config.auth_require_tls,
        "authenticator": make_authenticator(current),
        "limiter": ConnectionLimiter(max_total=config.max_connections, max_per_ip=config.max_connections_per_ip),
        "timeout": config.idle_timeout_s,
        # Without users, do not even advertise AUTH.
        "auth_exclude_mechanism": [] if config.auth_users else ["LOGIN", "PLAIN"],
    }
    if config.auth_users and not config.auth_require_tls:
        log.warning("SMTP AUTH is allowed without TLS: passwords cross the network in clear")

    def build() -> SMTP:
        # aiosmtpd warns on every connection about AUTH without TLS; we logged it once above.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return MailhookSMTP(handler, loop=asyncio.get_running_loop(), **options)

    return build


def smtp_config(holder: ConfigHolder) -> SmtpConfig:
    config = holder.current.smtp
    if config is None:
        raise ConfigError(f"{holder.path}: no `smtp:` section; add one with at least `domains:`")
    return config


async def serve_smtp(
    settings: Settings,
    host: str,
    port: int,
    *,
    config_holder: ConfigHolder | None = None,
    ingestor: Ingestor | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve until cancelled. A passed ``ingestor`` is shared (and left running); otherwise one is
    created, started and stopped here. ``ready`` is set once the socket is listening."""
    holder = config_holder or ConfigHolder.load(settings.config, providers=PROVIDERS)
    initial = smtp_config(holder)
    if config_holder is None:
        install_sighup_reload(holder)

    def current() -> SmtpConfig:
        return holder.current.smtp or initial

    context = tls_context(initial)
    hostname: str = initial.hostname if initial.hostname else await asyncio.to_thread(socket.getfqdn)
    own = ingestor is None
    store = ingestor or Ingestor(settings)
    build = protocol_factory(IngestHandler(store, current), initial, current, hostname=hostname, context=context)
    connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def connection() -> SMTP:
        protocol = build()
        connections.add(protocol)
        return protocol

    try:
        if own:
            await store.start()
            freeze_startup_objects()
        server = await asyncio.get_running_loop().create_server(connection, host, port)
        log.info("SMTP listening on %s:%d for %s", host, port, ", ".join(initial.domains))
        if ready is not None:
            ready.set()
        async with server:
            await server.serve_forever()
    finally:
        await _close(connections)
        if own:
            await stop_ingestor(store)


async def _close(connections: weakref.WeakSet[SMTP]) -> None:
    """Drop open sessions: a message not yet answered 250 is retried by its sender."""
    for protocol in list(connections):
        if protocol.transport is not None:
            protocol.transport.close()
    await asyncio.sleep(0)


async def stop_ingestor(ingestor: Ingestor) -> None:
    """Stop, bounded: on Python 3.11 ``BatchingEnqueuer.stop`` can lose its cancellation to an
    ``asyncio.wait_for`` race and wait forever; shutdown must not hang on it."""
    try:
        await asyncio.wait_for(ingestor.stop(), STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning("ingest shutdown timed out after %.0f s; closing connections anyway", STOP_TIMEOUT_S)
        await ingestor.redis.aclose()
        ingestor.engine.dispose()


def run_smtp(settings: Settings, *, host: str, port: int) -> None:
    """Blocking entry point for the CLI; SIGINT and SIGTERM stop the server cleanly."""

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve_smtp(settings, host, port)

    asyncio.run(main())
