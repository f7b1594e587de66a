"""Outbound HTTP that cannot be steered into Mailhook's own network (SSRF guard).

Webhook and forwarding URLs come from users, so every outbound request is resolved once, every
resolved address is checked, and the socket is then opened to that checked address only. Doing
this inside httpcore's network backend means redirects (each new origin opens a new connection)
are re-checked for free, DNS rebinding between "check" and "connect" is impossible, and TLS still
verifies the certificate against the URL's hostname because httpcore passes that as SNI.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names and addresses that hand out cloud credentials; CIDR allow entries never unlock them.
_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16", "fd00:ec2::254")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CHECKS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("unspecified address", lambda a: a.is_unspecified),
    ("loopback address", lambda a: a.is_loopback),
    ("link-local address", lambda a: a.is_link_local),
    ("multicast address", lambda a: a.is_multicast),
    ("shared address space (100.64.0.0/10)", lambda a: a in _SHARED),
    ("unique-local address", lambda a: a in _UNIQUE_LOCAL),
    ("reserved address", lambda a: a.is_reserved),
    ("private address", lambda a: a.is_private),
    ("address is not globally routable", lambda a: not a.is_global),
)


class OutboundBlocked(Exception):
    """A request target was refused; carries host/address/reason but never the URL (it may hold secrets)."""

    def __init__(self, host: str, address: str | None, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        where = host if address in (None, host) else f"{host} ({address})"
        super().__init__(f"outbound request to {where} refused: {reason}")

    def __reduce__(self) -> tuple[type[OutboundBlocked], tuple[str, str | None, str]]:
        # arq pickles job exceptions; the default reduce would replay only the message.
        return (type(self), (self.host, self.address, self.reason))


def _normalise_host(host: str) -> str:
    return host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Which otherwise-forbidden targets an operator deliberately opened (e.g. an internal relay)."""

    allow_hosts: frozenset[str] = frozenset()
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = frozenset(_normalise_host(h) for h in self.allow_hosts)
        networks = []
        for entry in hosts:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue  # a hostname, matched exactly
        object.__setattr__(self, "allow_hosts", hosts)
        object.__setattr__(self, "_networks", tuple(networks))

    def is_allowed_host(self, host: str) -> bool:
        host = _normalise_host(host)
        return host in self.allow_hosts or self.allows_address(host)

    def allows_address(self, address: str | IPAddress) -> bool:
        """An IP/CIDR entry opens that range for any hostname: the literal could be used directly anyway."""
        addr = _parse_ip(address) if isinstance(address, str) else address
        return addr is not None and any(addr in net for net in self._networks)


def _blocked_reason(addr: IPAddress) -> str | None:
    """Why ``addr`` must not be reached, or None; IPv4 hidden inside IPv6 is judged as that IPv4."""
    if addr in _METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            inner = _blocked_reason(embedded)
            return f"{inner} (IPv4 embedded in IPv6)" if inner else None
    return next((reason for reason, test in _CHECKS if test(addr)), None)


def check_address(policy: OutboundPolicy, host: str, address: str) -> None:
    """Raise OutboundBlocked unless connecting to ``address`` on behalf of ``host`` is safe or allowed."""
    name = _normalise_host(host)
    addr = _parse_ip(_normalise_host(address))
    if addr is None:
        raise OutboundBlocked(host, address, "resolver returned something that is not an IP address")
    if name in policy.allow_hosts:
        return  # an exact listing is the operator's explicit decision, metadata included
    if name in _METADATA_HOSTS:
        raise OutboundBlocked(host, str(addr), "cloud metadata host")
    reason = _blocked_reason(addr)
    if reason is None or (reason != "cloud metadata address" and policy.allows_address(addr)):
        return
    raise OutboundBlocked(host, str(addr), reason)


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
    return list(dict.fromkeys(addresses))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks in ``connect_tcp`` so nothing can connect without passing the policy."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        name = _normalise_host(host)
        if name in _METADATA_HOSTS and name not in self._policy.allow_hosts:
            raise OutboundBlocked(host, None, "cloud metadata host")
        addresses = await _resolve(name, port, timeout)
        for address in addresses:  # one bad record poisons the name: no "try the next one" bypass
            check_address(self._policy, host, address)
        error = httpcore.ConnectError(f"cannot connect to {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundBlocked(path, None, "unix sockets are never outbound targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, but its connection pool dials through the guarded backend."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits | None = None,
        retries: int = 0,
    ) -> None:
        # Not calling super().__init__: all it does is build self._pool, which we build differently.
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            network_backend=_GuardedBackend(policy),
        )


_TRANSPORT_ARGS = ("verify", "http1", "http2", "limits", "retries")
_FORBIDDEN_ARGS = ("transport", "mounts", "proxy", "trust_env")


def guarded_client(
    policy: OutboundPolicy, *, timeout: float = 10.0, follow_redirects: bool = True, **kwargs: Any
) -> httpx.AsyncClient:
    """An ordinary AsyncClient whose every connection (redirects included) passes ``policy``.

    Proxies are refused and ``trust_env`` is off: through a proxy we would only ever check the
    proxy's address, and HTTP(S)_PROXY from the environment would silently bypass the guard.
    """
    if bad := [name for name in _FORBIDDEN_ARGS if name in kwargs]:
        raise TypeError(f"guarded_client() does not accept {', '.join(bad)}")
    transport_kwargs = {name: kwargs.pop(name) for name in _TRANSPORT_ARGS if name in kwargs}
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, **transport_kwargs),
        timeout=timeout,
        follow_redirects=follow_redirects,
        trust_env=False,
        **kwargs,
    )


class GuardedClients:
    """One guarded client per distinct ``outbound.allow_hosts`` list: the config can be
    reloaded, and a client keeps the policy it was built with."""

    def __init__(self, allow_hosts: Callable[[], Iterable[str]], *, timeout: float = 10.0) -> None:
        self._allow_hosts = allow_hosts
        self._timeout = timeout
        self._clients: dict[frozenset[str], httpx.AsyncClient] = {}

    def get(self) -> httpx.AsyncClient:
        hosts = frozenset(host.lower() for host in self._allow_hosts())
        client = self._clients.get(hosts)
        if client is None:
            client = guarded_client(OutboundPolicy(allow_hosts=hosts), timeout=self._timeout)
            self._clients[hosts] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
