"""Running ``serve_smtp`` inside the test's event loop, and a self-signed certificate for STARTTLS."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.cli.embedded_redis import free_port
from service.config import ConfigHolder
from service.settings import Settings
from service.smtp.server import serve_smtp


@asynccontextmanager
async def running_smtp(settings: Settings, run_settings: Settings | None = None) -> AsyncIterator[int]:
    """Serve on a free loopback port with the config file already written; yield the port."""
    port, ready = free_port(), asyncio.Event()
    holder = ConfigHolder.load(settings.config)
    task = asyncio.create_task(
        serve_smtp(run_settings or settings, "127.0.0.1", port, config_holder=holder, ready=ready)
    )
    waiter = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # a start-up error (bad config, port taken) fails the test here
        assert ready.is_set(), "SMTP server did not start within 10 s"
        yield port
    finally:
        for pending in (waiter, task):
            pending.cancel()
        await asyncio.gather(waiter, task, return_exceptions=True)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1 (CA:true so a client can trust it directly)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
