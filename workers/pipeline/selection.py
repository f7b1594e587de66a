"""Which pipelines a stored message runs: the routes' choice, or ``default`` without routes."""

from __future__ import annotations

from typing import Any

from service.mail.recipients import recipients
from service.store.models import Attachment, Message
from workers.pipeline.config import DEFAULT, CompiledConfig
from workers.pipeline.definition import Pipeline
from workers.routing import RoutableMessage


def routable(message: Message, attachments: list[Attachment]) -> RoutableMessage:
    """The fields routing rules may look at, taken from the stored message."""
    return RoutableMessage(
        source=message.source,
        provider=message.provider,
        envelope_to=tuple(recipients(message.envelope_to, message.to, message.cc)),
        envelope_from=message.envelope_from,
        from_addr=message.from_address,
        from_name=message.from_name,
        to=tuple(a["address"] for a in message.to if a.get("address")),
        cc=tuple(a["address"] for a in message.cc if a.get("address")),
        subject=message.subject or "",
        text=message.text or "",
        html=message.html or "",
        headers=tuple((str(k), str(v)) for k, v in message.headers),
        attachments=tuple((a.filename or "", a.content_type) for a in attachments),
        bcc=tuple(a["address"] for a in message.bcc or () if a.get("address")),
        stripped_text=message.stripped_text or "",
        spam=tuple((str(k), str(v)) for k, v in (message.spam or {}).items()),
        **_bounce_fields(message.bounce),
    )


def _bounce_fields(bounce: dict[str, Any] | None) -> dict[str, Any]:
    """``bounce.*`` route fields from the stored report (``workers.bouncemail.bounce_value``)."""
    if not bounce:
        return {}
    recipients = bounce.get("recipients") or []
    return {
        "bounce_kind": bounce.get("kind"),
        "bounce_reason": bounce.get("reason"),
        "bounce_status": bounce.get("status"),
        "bounce_recipients": tuple(str(address) for address in recipients if address),
    }


def select_pipelines(
    compiled: CompiledConfig, message: Message, attachments: list[Attachment]
) -> list[tuple[Pipeline, str | None]]:
    """Ordered (pipeline, route name) pairs; empty means the message is unrouted."""
    if compiled.routes is None:
        return [(compiled.pipelines[DEFAULT], None)]
    view = routable(message, attachments)
    return [(compiled.pipelines[route.pipeline], route.name) for route in compiled.routes.select(view)]
