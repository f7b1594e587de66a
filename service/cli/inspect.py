"""``mailhook inspect``: what Mailhook makes of a message file, with no side effect.

The file goes through the same code as a delivery to a ``raw`` source (header normalisation),
the same MIME decoder as the worker, the routes of the config in force, and the same code and
link extractors as the ``extract_otp``/``extract_links`` steps. Nothing is stored or sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from service.config import SourceConfig
from service.errors import MailhookError
from service.providers import Delivery, get_provider
from service.recipients import recipients
from service.store.messages import _message_row
from service.store.models import Attachment, Message
from workers.extract import find_code, find_links
from workers.pipeline.config import CompiledConfig
from workers.pipeline.selection import select_pipelines
from workers.steps.mime_parse import parse_mime

_SOURCE = SourceConfig(name="inspect", provider="raw", secrets=[SecretStr("inspect-only-not-a-secret")])


def inspect_message(raw: bytes, compiled: CompiledConfig, *, envelope_to: list[str] | None = None) -> dict[str, Any]:
    """The route(s), pipeline(s), code, links and defects for one raw message."""
    query = {"to": ",".join(envelope_to)} if envelope_to else {}
    try:
        [email] = get_provider("raw").parse(Delivery(_SOURCE, raw, {"content-type": "message/rfc822"}, query))
    except MailhookError as exc:
        return {"error": exc.message, "route": None, "pipeline": None, "code": None, "links": [], "defects": []}
    message = Message(**_message_row("inspect", email, None))
    parsed = parse_mime(raw)
    message.text, message.html = parsed.get("text"), parsed.get("html")
    attachments = [
        Attachment(message_id="inspect", position=i, size=a.get("size") or 0, sha256="", **_meta(a))
        for i, a in enumerate(parsed.get("attachments", []))
    ]
    selected = select_pipelines(compiled, message, attachments)
    subject = parsed.get("subject") or message.subject
    return {
        "subject": subject,
        "from": message.from_address,
        "envelope_to": message.envelope_to,
        "recipients": recipients(message.envelope_to, message.to, message.cc),
        "route": selected[0][1] if selected else None,
        "pipeline": selected[0][0].name if selected else None,
        "routes": [{"route": route, "pipeline": pipeline.name} for pipeline, route in selected],
        "code": find_code(subject, message.text, message.html),
        "links": find_links(message.text, message.html),
        "defects": list(dict.fromkeys([*email.defects, *parsed.get("defects", [])])),
    }


def _meta(attachment: dict[str, Any]) -> dict[str, Any]:
    keys = ("filename", "content_type", "content_id", "disposition")
    return {key: attachment.get(key) for key in keys if attachment.get(key) is not None}
