"""User functions for the ``python`` step tests, imported by path like a user's own module."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from workers.steps.base import PermanentStepError

calls: list[dict[str, Any]] = []


def summarise(message: dict[str, Any], outputs: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Sync: runs in a worker thread, so it may block."""
    calls.append({"thread": threading.current_thread().name, "outputs": outputs})
    outputs["extract_otp"] = {"code": "tampered"}  # must not reach later steps
    return {"summary": f"{prefix}{message['subject']}", "code": message["code"]}


async def summarise_async(message: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"id": message["id"], "steps": sorted(outputs)}


def nothing(message: dict[str, Any], outputs: dict[str, Any]) -> None:
    return None


def flaky(message: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    raise ConnectionError("crm is down")


def refuses(message: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    raise PermanentStepError("this message is not for us")


def returns_list(message: dict[str, Any], outputs: dict[str, Any]) -> list[str]:
    return ["not", "a", "dict"]


def returns_unserialisable(message: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {"when": object()}


class Handler:
    @staticmethod
    def handle(message: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
        return {"handled": True}


NOT_CALLABLE = 42


def note_call(message: dict[str, Any], outputs: dict[str, Any], *, log: str) -> dict[str, Any]:
    """A side effect that can be counted: one line per call in ``log``."""
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"{message['id']}\n")
    return {"noted": True}


def hang_the_first_time(message: dict[str, Any], outputs: dict[str, Any], *, marker: str) -> dict[str, Any]:
    """The first call announces itself in ``marker`` and hangs (its worker is killed meanwhile);
    later calls return at once."""
    path = Path(marker)
    if not path.exists():
        path.write_text("started", encoding="utf-8")
        time.sleep(600)
    return {"second_attempt": True}
