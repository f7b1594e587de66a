"""Replay protection for signed deliveries: each signature token is accepted once.

Tokens live in Redis (shared by all web processes) with a TTL as long as the provider's
replay window. If Redis is unreachable an in-process cache stands in, so a Redis outage never
turns into refused mail, at the cost of cross-process protection for that time.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

_PREFIX = "mailhook:nonce:"
_LOCAL_MAX = 100_000


class NonceCache:
    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._local: dict[str, float] = {}

    async def first_use(self, namespace: str, token: str, ttl_s: int) -> bool:
        """True the first time ``token`` is seen in ``namespace`` within ``ttl_s`` seconds."""
        key = f"{_PREFIX}{namespace}:{token}"
        if self._redis is not None:
            try:
                return bool(await self._redis.set(key, b"1", nx=True, ex=ttl_s))
            except (RedisError, OSError):
                pass
        return self._first_use_locally(key, ttl_s)

    async def forget(self, namespace: str, token: str) -> None:
        key = f"{_PREFIX}{namespace}:{token}"
        self._local.pop(key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except (RedisError, OSError):
                pass

    def _first_use_locally(self, key: str, ttl_s: int) -> bool:
        now = time.monotonic()
        if len(self._local) > _LOCAL_MAX:
            self._local = {k: v for k, v in self._local.items() if v > now}
        expires = self._local.get(key)
        if expires is not None and expires > now:
            return False
        self._local[key] = now + ttl_s
        return True
