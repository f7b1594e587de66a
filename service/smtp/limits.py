"""Caps on concurrent SMTP sessions, in total and per client address.

Each session may buffer a message up to ``max_message_bytes`` in memory, so without a cap a
few hundred idle or slow connections are enough to exhaust the server. Over a cap the client is
greeted with ``421`` (RFC 5321 §3.8: service not available, try again later) and disconnected;
real MTAs queue and retry, as they do for any 4xx.
"""

from __future__ import annotations

from collections import Counter

TOO_MANY = b"421 4.7.0 Too many connections, try again later\r\n"


class ConnectionLimiter:
    def __init__(self, *, max_total: int, max_per_ip: int) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self._per_ip: Counter[str] = Counter()
        self._total = 0

    def acquire(self, ip: str) -> bool:
        """Count a new session from ``ip``; False (and nothing counted) when over a cap."""
        if self._total >= self.max_total or self._per_ip[ip] >= self.max_per_ip:
            return False
        self._total += 1
        self._per_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self._total -= 1
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]

    @property
    def active(self) -> int:
        return self._total
