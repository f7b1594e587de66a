"""Sentry set-up that keeps mail content, addresses and secrets out of error reports.

Mailhook handles other people's email and holds webhook secrets (in ``/hooks/{source}/{secret}``
URLs, headers and Slack webhook URLs). Sentry's own PII switch does not know any of that, so
every outgoing event, transaction, breadcrumb and log passes through :func:`scrub_event` first,
which fails closed: an event it cannot scrub is dropped rather than sent raw.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
from collections.abc import Callable
from typing import Any, cast

import sentry_sdk
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.asyncio import AsyncioIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.types import Event, Hint, Log

logger = logging.getLogger(__name__)

# Sentry types its hooks over TypedDicts (Event, Log); ours take and return the plain JSON dicts
# those are at run time, with any value possibly replaced by FILTERED, which the TypedDicts cannot say.
_EventHook = Callable[[Event, Hint], Event | None]
_LogHook = Callable[[Log, Hint], Log | None]

FILTERED = "[Filtered]"
_MAX_DEPTH = 24
_MAX_NODES = 20_000

# Key names whose values are mail content or credentials; matched per word ("X-Webhook-Signature",
# "apiKey") plus a few stems that are always sensitive, wherever they occur in a name.
_SENSITIVE_WORDS = frozenset(
    "text html body raw payload subject secret secrets token password passwd pwd key signature sig dsn auth "
    "authorization cookie cookies session csrf credentials query fragment params parameter attachment "
    "attachments forwarded ip argv".split()  # sys.argv: CLI flags may carry secrets
)
_SENSITIVE_STEMS = ("secret", "passw", "token", "signature", "authoriz", "cookie", "apikey", "credential", "remoteaddr")
_HARMLESS_KEYS = frozenset({"raw_description"})  # Sentry's own os/runtime contexts
_URL_KEYS = frozenset({"url", "http.url", "url.full"})

_STRING_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # /hooks/{source}/{secret}: everything after the source; route templates like "{secret}" stay readable.
    (re.compile(r"(/hooks/[^/\s?#\"'<>]+/)(?!\{\w+\}(?:$|[\s?#\"'<>]))[^\s?#\"'<>]+"), rf"\1{FILTERED}"),
    (re.compile(r"(hooks\.slack\.com/)[^\s\"'<>]+"), rf"\1{FILTERED}"),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*", re.I), rf"\1?{FILTERED}"),
    (
        re.compile(
            r"(?<![a-z0-9])((?:api[_-]?)?key|token|secret|password|passwd|signature|sig|dsn)"
            r"([\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+",
            re.I,
        ),
        rf"\1\2{FILTERED}",
    ),
    (re.compile(r"\b(bearer|basic)\s+[\w.~+/=-]+", re.I), rf"\1 {FILTERED}"),
    (
        re.compile(
            r"[\w.!#$%&'*+=?^`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+", re.I
        ),
        "[email]",
    ),
)
_URL_PATH = re.compile(r"([a-z][a-z0-9+.-]*://[^/\s?#\"'<>]+)[^\s\"'<>]*", re.I)


def init_sentry(dsn: str | None, *, component: str, environment: str | None = None, release: str | None = None) -> bool:
    """Start Sentry for one process (web, worker, smtp…); returns False and does nothing without a DSN.

    Call it from inside the running event loop when there is one, so the asyncio integration can
    hook that loop's tasks.
    """
    if not dsn:
        return False
    integrations: list[Integration] = [StarletteIntegration()]
    try:
        asyncio.get_running_loop()
        integrations.append(AsyncioIntegration())
    except RuntimeError:
        pass  # no loop to instrument yet; the integration would only log a warning
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=integrations,
        send_default_pii=False,
        include_local_variables=False,  # frame locals hold message bodies and addresses
        max_request_body_size="never",  # inbound webhook bodies *are* the email
        before_send=cast(_EventHook, scrub_event),
        before_send_transaction=cast(_EventHook, scrub_event),
        before_breadcrumb=_template_log_breadcrumb,
        before_send_log=cast(_LogHook, scrub_log),
    )
    sentry_sdk.get_global_scope().set_tag("component", component)
    return True


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """``before_send`` hook: return a scrubbed copy of ``event``, or None to drop it if scrubbing fails."""
    try:
        return _scrub(event)
    except Exception:  # sending an unscrubbed event is the one thing we must not do
        logger.warning("dropped a Sentry event because it could not be scrubbed")
        return None


def scrub_string(text: str) -> str:
    """Mask hook secrets, Slack webhook paths, query strings, key=value secrets and email addresses."""
    for pattern, replacement in _STRING_RULES:
        text = pattern.sub(replacement, text)
    return text


def _template_log_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
    """Log breadcrumbs carry the formatted message; keep the template so %s arguments never leave."""
    record = (hint or {}).get("log_record")
    if isinstance(record, logging.LogRecord) and record.args:
        crumb["message"] = str(record.msg)
    return crumb


def _scrub(event: dict[str, Any]) -> dict[str, Any]:
    event = dict(event)
    if isinstance(request := event.get("request"), dict):
        request = {k: (FILTERED if k in ("data", "cookies", "query_string") else v) for k, v in request.items()}
        if isinstance(url := request.get("url"), str):
            request["url"] = url.split("?", 1)[0].split("#", 1)[0]
        event["request"] = request
    if isinstance(entry := event.get("logentry"), dict) and entry.get("params"):
        event["logentry"] = {"message": entry.get("message")}  # the formatted text embeds the params
    if isinstance(user := event.get("user"), dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict) and isinstance(crumbs.get("values"), list):
        event["breadcrumbs"] = {**crumbs, "values": [_outbound_urls(c) for c in crumbs["values"]]}
    elif isinstance(crumbs, list):
        event["breadcrumbs"] = [_outbound_urls(c) for c in crumbs]
    if isinstance(spans := event.get("spans"), list):
        event["spans"] = [_outbound_urls(span) for span in spans]
    scrubbed: dict[str, Any] = _walk(event, 0, [_MAX_NODES])  # a dict walks to a dict
    return scrubbed


def _origin(value: Any) -> Any:
    return _URL_PATH.sub(rf"\1/{FILTERED}", value) if isinstance(value, str) else value


def _outbound_urls(item: Any) -> Any:
    """Outbound URLs (Slack webhooks, users' endpoints) keep secrets in the path: keep scheme and host."""
    if not isinstance(item, dict):
        return item
    item = dict(item)
    if isinstance(data := item.get("data"), dict):
        item["data"] = {k: _origin(v) if k in _URL_KEYS else v for k, v in data.items()}
    if str(item.get("op", "")).startswith("http"):
        item["description"] = _origin(item.get("description"))
    return item


def scrub_log(log: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """Sentry Logs: send the message template, not the text formatted with (possibly private) arguments."""
    attributes = log.get("attributes")
    template = attributes.get("sentry.message.template") if isinstance(attributes, dict) else None
    body = template if template is not None else log.get("body")
    scrubbed = scrub_event({k: v for k, v in log.items() if k != "body"}, hint)
    if scrubbed is not None:
        scrubbed["body"] = scrub_string(str(body))
    return scrubbed


def _is_sensitive_key(key: str) -> bool:
    if key in _HARMLESS_KEYS:
        return False
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower())
    flat = "".join(words)
    return any(word in _SENSITIVE_WORDS for word in words) or any(stem in flat for stem in _SENSITIVE_STEMS)


def _walk(value: Any, depth: int, budget: list[int]) -> Any:
    """Recursively scrub; anything beyond the depth/size bounds is replaced, never passed through."""
    budget[0] -= 1
    if depth > _MAX_DEPTH or budget[0] < 0:
        return FILTERED
    if isinstance(value, str):
        return scrub_string(value)
    if value is None or isinstance(value, bool | int | float | datetime.date | datetime.timedelta):
        return value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key == "vars":
                continue  # frame locals: never sent, whatever include_local_variables says
            name = scrub_string(key) if isinstance(key, str) else key
            out[name] = FILTERED if isinstance(key, str) and _is_sensitive_key(key) else _walk(item, depth + 1, budget)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_walk(item, depth + 1, budget) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return FILTERED  # raw message bytes
    return scrub_string(repr(value))
