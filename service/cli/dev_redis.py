"""Finding the Redis that ``mailhook dev`` started, from any other ``mailhook`` command.

When the configured Redis does not answer, ``dev`` starts a private one on a free port. It
records that address beside its data (``<data dir>/dev-redis.json``) together with the address it
replaced, and removes the record when it stops. A command run in the same directory with the
same settings (``replay``, ``check``, ``messages`` …) then talks to that Redis instead of failing.
"""

from __future__ import annotations

import json
from pathlib import Path

from service.cli.embedded_redis import port_open, redis_address
from service.settings import Settings

RECORD = "dev-redis.json"


def record_path(settings: Settings) -> Path:
    return settings.data_dir / RECORD


def write_record(settings: Settings, embedded_url: str) -> None:
    record = {"configured": settings.redis_url, "embedded": embedded_url}
    record_path(settings).write_text(json.dumps(record), encoding="utf-8")


def remove_record(settings: Settings) -> None:
    record_path(settings).unlink(missing_ok=True)


def with_dev_redis(settings: Settings) -> Settings:
    """``settings`` pointed at dev's embedded Redis when dev replaced this very address and that
    Redis still answers; otherwise unchanged."""
    try:
        record = json.loads(record_path(settings).read_text(encoding="utf-8"))
        configured, embedded = str(record["configured"]), str(record["embedded"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings
    if configured != settings.redis_url or not _answers(embedded):
        return settings
    return settings.model_copy(update={"redis_url": embedded})


def _answers(url: str) -> bool:
    host, port = redis_address(url)
    return port.isdigit() and port_open(host, int(port))
