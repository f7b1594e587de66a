"""Which recipients a forwarding step must skip: the bounce-driven suppression list.

``deps.suppressions`` is the store's list (``service.store.suppressions``); steps ask it once per
run and record each skipped address with its reason in their output, so ``mailhook runs`` and
the UI show *why* a target got nothing.
"""

from __future__ import annotations

from typing import Any

from service.store.suppressions import SuppressionList, normalise_address
from workers.steps.base import StepContext


async def split_suppressed(ctx: StepContext, recipients: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """(the recipients to send to, why each of the others is skipped)."""
    suppressions: SuppressionList | None = ctx.deps.suppressions
    if suppressions is None or not recipients:
        return list(recipients), []
    found = await suppressions.lookup(recipients)
    keep = [r for r in recipients if normalise_address(r) not in found]
    return keep, [entry.as_dict() for entry in sorted(found.values(), key=lambda e: e.address)]
