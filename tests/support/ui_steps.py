"""A pipeline step for the UI's replay tests: it fails for good while a flag file exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workers.steps.base import PermanentStepError


def fails_while_flagged(message: dict[str, Any], outputs: dict[str, Any], *, flag: str) -> dict[str, Any]:
    if Path(flag).exists():
        raise PermanentStepError("the CRM refused the signup (flag file present)")
    return {"delivered": message["id"]}
