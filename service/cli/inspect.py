"""``mailhook inspect``: what Mailhook makes of a message, with no side effect.

Three inputs, each read by the same code as a real delivery: a MIME file (as a ``raw`` source
reads it), a provider's delivery body (``--provider NAME``: that provider's own module, signature
checks aside), or a stored message (``--id``: its stored body, through the provider that
delivered it; raw HTTP and SMTP mail keep only their envelope as that body, so theirs is the MIME
from the blob store). Bodies go through the worker's MIME decoder, its bounce classifier (raw
MIME, or MIME rebuilt from a provider's fields, as the job does), the routes of the config in
force and the ``extract_otp``/``extract_links`` extractors. Nothing is stored or sent.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session

from service.config import SourceConfig, load_config
from service.errors import MailhookError
from service.mail.inbound import InboundEmail
from service.mail.recipients import recipients
from service.mime.body import parse_mime
from service.providers import INBOUND_PROVIDERS, PROVIDERS, Delivery
from service.providers.raw import RawMime
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.messages import get_message, get_raw, unsaved_message
from service.store.models import Attachment, Message, MessageRaw
from workers.bouncemail import BounceFinding, read_bounce
from workers.bouncemime import is_report_part, rebuilt_mime
from workers.extract import find_code, find_links
from workers.pipeline.config import CompiledConfig, compile_config
from workers.pipeline.selection import select_pipelines

_SECRET = [SecretStr("inspect-only-not-a-secret")]
#: A MIME file starts with a header field (RFC 5322 §2.2: printable ASCII but ':' then ':'), or
#: an mbox "From " line.
_MIME_START = re.compile(rb"\A(?:\s*\r?\n)*(?:From |[\x21-\x39\x3b-\x7e]+:)")


class NotInspectable(Exception):
    """The input is not what the chosen mode reads; ``str()`` says what to do instead."""


def inspect_mime(raw: bytes, compiled: CompiledConfig, *, envelope_to: list[str] | None = None) -> dict[str, Any]:
    """The route(s), pipeline(s), code, links and defects of one MIME message."""
    if not _MIME_START.match(raw[:4096]):
        if raw.lstrip()[:1] in (b"{", b"["):
            raise NotInspectable(
                f"looks like a provider's JSON delivery: use --provider ({', '.join(sorted(INBOUND_PROVIDERS))})"
            )
        raise NotInspectable("not a MIME message (it does not start with a header block)")
    query = {"to": ",".join(envelope_to)} if envelope_to else {}
    [email] = _parse("raw", raw, "message/rfc822", query)
    return _report(email, raw, compiled)


def inspect_delivery(
    body: bytes, provider: str, compiled: CompiledConfig, *, content_type: str = "application/json"
) -> list[dict[str, Any]]:
    """Each email of one provider delivery body, as that provider's hook would read it."""
    if provider not in INBOUND_PROVIDERS:
        raise NotInspectable(f"unknown provider {provider!r}; known: {', '.join(sorted(INBOUND_PROVIDERS))}")
    return [_report(email, email.raw_mime, compiled) for email in _parse(provider, body, content_type, {})]


def inspect_stored(session: Session, message_id: str, compiled: CompiledConfig, blobs: BlobStore) -> dict[str, Any]:
    """A stored message, re-read from the body it was delivered with."""
    message, raw = get_message(session, message_id), get_raw(session, message_id)
    if message is None or raw is None:
        raise NotInspectable(f"no stored message with id {message_id}")
    if message.provider == RawMime.name or message.provider not in INBOUND_PROVIDERS:
        # Raw HTTP and SMTP deliveries keep only their envelope as the payload; the message is
        # the MIME in the blob store. The envelope is the one the delivery gave.
        mime = _stored_mime(message, raw, blobs)
        envelope = {"to": ",".join(message.envelope_to), "from": message.envelope_from or ""}
        [email] = _parse(RawMime.name, mime, "message/rfc822", {k: v for k, v in envelope.items() if v})
        return _report(email, mime, compiled)
    emails = _parse(message.provider, raw.content(), raw.content_type, {})
    email = next((e for e in emails if e.idempotency_key == message.idempotency_key), emails[0])
    return _report(email, email.raw_mime, compiled)


def _stored_mime(message: Message, raw: MessageRaw, blobs: BlobStore) -> bytes:
    """The raw MIME of a raw/SMTP message: its blob (older rows kept the MIME as the payload)."""
    if message.raw_mime_sha256 is None:
        if raw.content_type.startswith("message/"):
            return raw.content()
        raise NotInspectable(f"message {message.id} kept no raw MIME")
    try:
        return blobs.read(message.raw_mime_sha256)
    except (OSError, ValueError):
        raise NotInspectable(f"the raw MIME of message {message.id} is missing from the blob store") from None


def _parse(provider: str, body: bytes, content_type: str, query: dict[str, str]) -> list[InboundEmail]:
    source = SourceConfig(name="inspect", provider=provider, secrets=_SECRET)
    delivery = Delivery(source, body, {"content-type": content_type}, query)
    try:
        emails = INBOUND_PROVIDERS[provider]().parse(delivery)
    except MailhookError as exc:
        raise NotInspectable(f"{provider} cannot read it: {exc.message}") from None
    if not emails:
        raise NotInspectable(f"{provider} found no message in it")
    return emails


def _report(email: InboundEmail, raw_mime: bytes | None, compiled: CompiledConfig) -> dict[str, Any]:
    message = unsaved_message("inspect", email)
    read = _bounce(message, email, raw_mime)
    message.bounce = read.value
    parsed = parse_mime(raw_mime) if raw_mime is not None else {}
    message.text = parsed.get("text", message.text)
    message.html = parsed.get("html", message.html)
    found = parsed.get("attachments")
    if found is None:
        found = [
            {"filename": a.filename, "content_type": a.content_type, "size": len(a.data)} for a in email.attachments
        ]
    attachments = [
        Attachment(message_id="inspect", position=i, size=a.get("size") or 0, sha256="", **_meta(a))
        for i, a in enumerate(found)
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
        # As the extract_otp step: a bounce's quoted original holds someone else's code.
        "code": None if read.report else find_code(subject, message.text, message.html, sender=message.from_name),
        "links": find_links(message.text, message.html),
        "bounce": read.report.as_dict() if read.report else None,
        "defects": list(dict.fromkeys([*email.defects, *parsed.get("defects", []), *read.defects])),
    }


def _bounce(message: Message, email: InboundEmail, raw_mime: bytes | None) -> BounceFinding:
    """The worker's reading: the raw MIME, or MIME rebuilt from the provider's fields."""
    if raw_mime is not None:
        return read_bounce(raw_mime)
    parts = [(a.content_type, a.data) for a in email.attachments if is_report_part(a.content_type)]
    return read_bounce(rebuilt_mime(message, parts))


def _meta(attachment: dict[str, Any]) -> dict[str, Any]:
    keys = ("filename", "content_type", "content_id", "disposition")
    return {key: attachment.get(key) for key in keys if attachment.get(key) is not None}


_SHOWN = ("subject", "from", "recipients", "route", "pipeline", "code", "links", "bounce", "defects")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--provider", help="Read each FILE as this provider's delivery body (e.g. improvmx), not as MIME.")
@click.option(
    "--content-type", default="application/json", show_default=True, help="Content type of --provider bodies."
)
@click.option("--id", "message_ids", multiple=True, help="A stored message id (repeatable), instead of FILES.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message per line.")
@click.option("--to", "envelope_to", multiple=True, help="Envelope recipient to assume for MIME files.")
@click.pass_context
def inspect(
    ctx: click.Context,
    files: tuple[str, ...],
    provider: str | None,
    content_type: str,
    message_ids: tuple[str, ...],
    as_json: bool,
    envelope_to: tuple[str, ...],
) -> None:
    """Show what Mailhook makes of messages (route, pipeline, code, links, bounce, defects); no side effect.

    FILES are MIME messages (.eml), or provider delivery bodies with --provider; --id reads stored
    messages. Anything else is refused with a one-line reason and exit status 1.
    """
    if bool(files) == bool(message_ids):
        raise click.UsageError("give FILES or --id MESSAGE_ID (not both)")
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    compiled = compile_config(load_config(settings.config, providers=PROVIDERS))
    failed = False
    for label, produce in _inputs(settings, compiled, files, provider, content_type, message_ids, list(envelope_to)):
        try:
            results = produce()
        except NotInspectable as exc:
            click.echo(f"{label}: {exc}", err=True)
            failed = True
            continue
        for result in results:
            _show(label, result, as_json)
    if failed:
        sys.exit(1)


def _inputs(
    settings: Settings,
    compiled: CompiledConfig,
    files: tuple[str, ...],
    provider: str | None,
    content_type: str,
    message_ids: tuple[str, ...],
    envelope_to: list[str],
) -> list[tuple[str, Callable[[], list[dict[str, Any]]]]]:
    """(label, read) for each message asked about; reading may raise ``NotInspectable``."""
    if message_ids:
        engine, blobs = make_engine(settings), BlobStore(settings.blob_dir)
        return [(mid, partial(_stored, engine, mid, compiled, blobs)) for mid in message_ids]
    if provider is not None:
        return [(name, partial(_delivery_file, name, provider, compiled, content_type)) for name in files]
    return [(name, partial(_mime_file, name, compiled, envelope_to)) for name in files]


def _stored(engine: Engine, message_id: str, compiled: CompiledConfig, blobs: BlobStore) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [inspect_stored(session, message_id, compiled, blobs)]


def _delivery_file(name: str, provider: str, compiled: CompiledConfig, content_type: str) -> list[dict[str, Any]]:
    return inspect_delivery(Path(name).read_bytes(), provider, compiled, content_type=content_type)


def _mime_file(name: str, compiled: CompiledConfig, envelope_to: list[str]) -> list[dict[str, Any]]:
    return [inspect_mime(Path(name).read_bytes(), compiled, envelope_to=envelope_to)]


def _show(label: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"file": label, **result}, ensure_ascii=False))
        return
    click.echo(f"{label}:")
    for key in _SHOWN:
        value = _brief_bounce(result[key]) if key == "bounce" else result[key]
        click.echo(f"  {key + ':':<12} {value}")


def _brief_bounce(bounce: dict[str, Any] | None) -> str | None:
    """``hard user_unknown 5.1.1 550: a@x.example, b@y.example``"""
    if bounce is None:
        return None
    facts = [str(bounce[key]) for key in ("kind", "reason", "status", "reply_code") if bounce.get(key) is not None]
    return f"{' '.join(facts)}: {', '.join(bounce['recipients']) or '(no recipient named)'}"
