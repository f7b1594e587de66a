"""``GET /api/v1/bounces``: recorded bounce events (webhooks, pulled provider logs, bounce mail),
newest first, filtered and paged like ``/messages``.

Events are ordered by when the bounce happened (``occurred_at``), as ``mailhook bounces`` lists
them, not by when Mailhook heard of it: a pulled log page recorded today may hold last night's
bounces. ``since``/``until`` bound ``occurred_at``; the page cursor names the last event's time
and id, so paging stays exact when events share a timestamp.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.api import spec
from service.api.keyset import keyset_page
from service.api.params import Query
from service.api.views import iso
from service.mail.bounce import KINDS
from service.store.bounces import BounceEvent, list_bounces

_PARAMS = ("recipient", "kind", "source", "since", "until", "cursor", "limit")
_FIELDS = (
    "id",
    "recipient",
    "kind",
    "reason",
    "status",
    "reply_code",
    "diagnostic",
    "reporting_mta",
    "original_message_id",
    "source",
    "provider",
    "message_id",
    "forwarded_message_id",
)


def bounce_view(row: BounceEvent) -> dict[str, Any]:
    """One event as the API shows it (``Bounce`` in the OpenAPI document; the provider's raw
    event stays in the store)."""
    view: dict[str, Any] = {name: getattr(row, name) for name in _FIELDS}
    view["occurred_at"], view["created_at"] = iso(row.occurred_at), iso(row.created_at)
    return view


@spec.documented(
    {
        "summary": "List recorded bounce events, newest first",
        "description": "One event per bounced recipient, from bounce webhooks, pulled provider logs and "
        "bounce mail. Filters combine with AND; `since`/`until` bound when the bounce occurred. "
        "Pass `next_cursor` back as `cursor` for the next page.",
        "security": spec.SECURITY,
        "parameters": [
            spec.query("recipient", "The bounced address (exact, any case)", spec.ADDRESS),
            spec.query("kind", "Kind of bounce", {"type": "string", "enum": list(KINDS)}),
            spec.query("source", "Hook source or bounce_logs account it came from"),
            spec.query("since", "Occurred after this time", spec.TIMESTAMP),
            spec.query("until", "Occurred at or before this time", spec.TIMESTAMP),
            *spec.paging(spec.KEYSET),
        ],
        "responses": spec.responses({"200": spec.JSON("BouncePage", "A page of bounce events")}, found=False),
    }
)
async def list_all(request: Request) -> Response:
    return await keyset_page(
        request, _PARAMS, _filters, list_bounces, key=lambda row: (row.occurred_at, row.id), view=bounce_view
    )


def _filters(q: Query) -> dict[str, Any]:
    recipient = q.address("recipient")
    return {
        "recipient": recipient.address if recipient else None,
        "kind": q.choice("kind", KINDS),
        "source": q.text("source"),
        "since": q.timestamp("since"),
        "until": q.timestamp("until"),
    }
