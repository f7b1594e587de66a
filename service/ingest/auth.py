"""Who may deliver to a source: its secret (URL path or Basic password) and its IP allow-list."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import ipaddress
from collections.abc import Iterable

from starlette.requests import Request

from service.config import AppConfig, SourceConfig
from service.errors import Forbidden, Unauthorized

# A fixed stand-in compared against when the source does not exist, so an unknown source costs
# the same time and gets the same answer as a wrong secret: nobody can probe which sources exist.
_DECOY = b"mailhook-decoy-secret-that-never-matches-anything"


def secret_from_request(request: Request) -> str | None:
    """The secret from ``/hooks/{source}/{secret}``, else the HTTP Basic password."""
    in_path = request.path_params.get("secret")
    if in_path:
        return str(in_path)
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def authenticate(config: AppConfig, source_name: str, presented: str | None) -> SourceConfig:
    """Return the source when ``presented`` equals one of its secrets (rotation: any of them)."""
    source = config.source(source_name)
    candidate = (presented or "").encode("utf-8", "surrogateescape")
    expected = source.secret_values() if source else [_DECOY]
    matched = False
    for secret in expected:
        # Compare against every secret, without short-circuiting, in constant time.
        matched |= hmac.compare_digest(candidate, secret)
    if source is None or not matched:
        # A challenge when no secret came at all: Amazon SNS sends the Basic credentials of a
        # subscription URL (https://user:secret@host/...) only after a 401 that asks for them.
        challenge = {"WWW-Authenticate": 'Basic realm="mailhook"'} if presented is None else None
        raise Unauthorized("unknown source or wrong secret", headers=challenge)
    return source


@functools.lru_cache(maxsize=64)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parsed once per distinct list (config reloads make new lists), not once per request."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_ip(request: Request, trusted_proxies: Iterable[str]) -> str | None:
    """The peer address, or the right-most untrusted ``X-Forwarded-For`` hop behind our proxies."""
    peer = request.client.host if request.client else None
    networks = _networks(tuple(trusted_proxies))
    if not networks:
        return peer
    if peer is None or not _in_any(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in_any(hop, networks):
            return hop
    return hops[0] if hops else peer


def check_ip(source: SourceConfig, ip: str | None) -> None:
    if not source.allow_ips:
        return
    networks = _networks(tuple(source.allow_ips))
    if ip is None or not _in_any(ip, networks):
        raise Forbidden("this address may not deliver to this source")


def _in_any(ip: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
