"""The outbound guard, exercised with real HTTP(S) over loopback only (nothing here leaves the host)."""

from __future__ import annotations

import asyncio
import pickle
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import trustme

from service.outbound import OutboundBlocked, OutboundPolicy, check_address, guarded_client

NOBODY = OutboundPolicy()
LOOPBACK = OutboundPolicy(frozenset({"127.0.0.1"}))


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough HTTP/1.1: ``/redirect?to=URL`` answers 302, anything else 200 "hello"."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ", 2)[1].decode()
        to = parse_qs(urlsplit(target).query).get("to")
        if urlsplit(target).path == "/redirect" and to:
            status, extra, body = "302 Found", f"Location: {to[0]}\r\n", b""
        else:
            status, extra, body = "200 OK", "", b"hello"
        writer.write(
            f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_port(ca: trustme.CA) -> AsyncIterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _get(policy: OutboundPolicy, url: str, **kwargs: Any) -> httpx.Response:
    async with guarded_client(policy, timeout=5.0, **kwargs) as client:
        return await client.get(url)


async def test_loopback_refused_unless_allowed(port: int) -> None:
    with pytest.raises(OutboundBlocked) as info:
        await _get(NOBODY, f"http://127.0.0.1:{port}/hello?token=supersecret")
    assert (info.value.host, info.value.address, info.value.reason) == ("127.0.0.1", "127.0.0.1", "loopback address")
    assert "supersecret" not in str(info.value) and "/hello" not in str(info.value)

    response = await _get(LOOPBACK, f"http://127.0.0.1:{port}/hello")
    assert (response.status_code, response.text) == (200, "hello")


async def test_post_json_works_like_a_normal_client(port: int) -> None:
    async with guarded_client(LOOPBACK) as client:
        response = await client.post(f"http://127.0.0.1:{port}/hook", json={"text": "hi"})
    assert response.status_code == 200


async def test_allowed_by_name_and_by_cidr(port: int) -> None:
    with pytest.raises(OutboundBlocked):
        await _get(NOBODY, f"http://localhost:{port}/hello")
    assert (await _get(OutboundPolicy(frozenset({"LOCALHOST"})), f"http://localhost:{port}/")).text == "hello"
    assert (await _get(OutboundPolicy(frozenset({"127.0.0.0/8"})), f"http://127.0.0.1:{port}/")).text == "hello"


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0x7f.1", "017700000001", "127.1", "[::ffff:127.0.0.1]", "0.0.0.0", "[::]"]
)
async def test_literal_spellings_of_local_addresses_are_refused(port: int, host: str) -> None:
    with pytest.raises(OutboundBlocked):
        await _get(NOBODY, f"http://{host}:{port}/hello")


@pytest.mark.parametrize(
    ("policy", "start", "target"),
    [
        (LOOPBACK, "http://127.0.0.1:{port}", "http://[::1]:{port}/hello"),
        (LOOPBACK, "http://127.0.0.1:{port}", "http://metadata.google.internal/computeMetadata/v1/"),
        (OutboundPolicy(frozenset({"localhost"})), "http://localhost:{port}", "http://127.0.0.1:{port}/hello"),
        (LOOPBACK, "http://127.0.0.1:{port}", "http://0x7f.2:{port}/hello"),
    ],
)
async def test_redirect_to_disallowed_target_is_refused(
    port: int, policy: OutboundPolicy, start: str, target: str
) -> None:
    url = start.format(port=port) + "/redirect?to=" + quote(target.format(port=port), safe="")
    with pytest.raises(OutboundBlocked):
        await _get(policy, url)
    response = await _get(policy, url, follow_redirects=False)
    assert response.status_code == 302  # the first hop itself was fine


async def test_redirect_between_allowed_hosts_is_followed(port: int) -> None:
    policy = OutboundPolicy(frozenset({"127.0.0.1", "localhost"}))
    response = await _get(policy, f"http://127.0.0.1:{port}/redirect?to=http://localhost:{port}/hello")
    assert (response.status_code, response.text, len(response.history)) == (200, "hello", 1)


async def test_tls_verifies_the_url_hostname_while_connecting_to_the_pinned_ip(ca: trustme.CA, tls_port: int) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    policy = OutboundPolicy(frozenset({"localhost", "127.0.0.1"}))
    response = await _get(policy, f"https://localhost:{tls_port}/hello", verify=context)
    assert response.text == "hello"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):  # cert names localhost, not the IP
        await _get(policy, f"https://127.0.0.1:{tls_port}/hello", verify=context)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, records: dict[str, list[str]]) -> list[str]:
    """Answer made-up names from ``records`` (and count lookups); everything else goes to the real resolver."""
    loop = asyncio.get_running_loop()
    real, lookups = loop.getaddrinfo, []

    async def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in records:
            return await real(host, port, *args, **kwargs)
        lookups.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in records[host]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return lookups


async def test_name_is_resolved_once_and_the_checked_address_is_dialled(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = _fake_dns(monkeypatch, {"relay.internal.test": ["127.0.0.1"]})
    response = await _get(OutboundPolicy(frozenset({"relay.internal.test"})), f"http://relay.internal.test:{port}/")
    assert response.text == "hello"
    assert lookups == ["relay.internal.test"]  # the connect step did not look the name up again


async def test_one_private_record_poisons_the_name(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {"mixed.test": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(OutboundBlocked) as info:
        await _get(NOBODY, f"http://mixed.test:{port}/")
    assert (info.value.host, info.value.address) == ("mixed.test", "127.0.0.1")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared address space"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fe80::1", "link-local"),
        ("::1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", ""),
        ("198.18.0.1", ""),
    ],
)
def test_check_address_refuses_non_public_ranges(address: str, reason: str) -> None:
    with pytest.raises(OutboundBlocked) as info:
        check_address(NOBODY, "example.com", address)
    assert reason in info.value.reason
    assert info.value.host == "example.com"


def test_check_address_allows_public_and_allow_listed_targets() -> None:
    check_address(NOBODY, "example.com", "93.184.216.34")
    check_address(NOBODY, "example.com", "2606:2800:220:1:248:1893:25c8:1946")
    check_address(NOBODY, "example.com", "::ffff:93.184.216.34")
    internal = OutboundPolicy(frozenset({"10.0.0.0/8", "relay.corp"}))
    check_address(internal, "anything.corp", "10.9.8.7")
    check_address(internal, "relay.corp", "192.168.0.5")
    with pytest.raises(OutboundBlocked):
        check_address(internal, "anything.corp", "192.168.0.5")
    assert internal.is_allowed_host("Relay.Corp.") and internal.is_allowed_host("10.1.1.1")
    assert not internal.is_allowed_host("11.1.1.1") and not internal.is_allowed_host("corp")


def test_metadata_needs_an_exact_listing() -> None:
    with pytest.raises(OutboundBlocked, match="metadata"):
        check_address(OutboundPolicy(frozenset({"169.254.0.0/16"})), "169.254.169.254", "169.254.169.254")
    with pytest.raises(OutboundBlocked, match="metadata host"):
        check_address(NOBODY, "metadata.google.internal", "93.184.216.34")
    check_address(OutboundPolicy(frozenset({"169.254.169.254"})), "169.254.169.254", "169.254.169.254")


def test_blocked_survives_pickling_for_the_job_queue() -> None:
    error = pickle.loads(pickle.dumps(OutboundBlocked("h.example", "10.0.0.1", "private address")))
    assert (error.host, error.address, error.reason) == ("h.example", "10.0.0.1", "private address")
    assert str(error) == "outbound request to h.example (10.0.0.1) refused: private address"


def test_client_refuses_options_that_would_bypass_the_guard() -> None:
    for option in ("proxy", "transport", "mounts", "trust_env"):
        with pytest.raises(TypeError, match=option):
            bypass: dict[str, Any] = {option: None}
            guarded_client(NOBODY, **bypass)
