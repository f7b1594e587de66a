"""A TCP socket to an SMTP relay that obeys the same outbound policy as HTTP targets.

The relay host comes from config, so like webhook URLs it must not be a way into Mailhook's
own network unless the operator listed it in ``outbound.allow_hosts``. As in
``service.outbound``, the name is resolved once, every address is checked (one forbidden
record refuses the name: no "try the next one" bypass), and the socket is opened to a checked
address, so DNS cannot change between check and connect. aiosmtplib then runs over this
socket and still uses the host *name* for TLS verification.
"""

from __future__ import annotations

import asyncio
import socket

from service.outbound import OutboundPolicy, check_address


async def resolve(host: str, port: int, timeout: float) -> list[tuple[int, str]]:
    """(family, address) pairs for ``host``, deduplicated, in resolver order."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = [(info[0], str(info[4][0])) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not found:
        raise OSError(f"cannot resolve {host}: no addresses")
    return list(dict.fromkeys(found))


async def guarded_socket(host: str, port: int, policy: OutboundPolicy, *, timeout: float) -> socket.socket:
    """A connected, non-blocking socket to a checked address of ``host``.

    Raises ``OutboundBlocked`` when any address is forbidden, ``OSError``/``TimeoutError`` when
    no address can be reached (the last error wins).
    """
    addresses = await resolve(host, port, timeout)
    for _, address in addresses:
        check_address(policy, host, address)
    loop = asyncio.get_running_loop()
    error: Exception = OSError(f"cannot connect to {host}:{port}")
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (address, port))
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error
