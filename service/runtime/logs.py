"""Logging set-up. Hook URLs carry source secrets, and API tokens are secrets, so every log line
passes a redacting filter."""

from __future__ import annotations

import logging
import re

from uvicorn.config import LOGGING_CONFIG

_HOOK_SECRET = re.compile(r"(/hooks/[^/\s?\"]+/)[^\s?\"]+")
#: ``mh_`` + token_urlsafe: only ever in an Authorization header, but an exception message or a
#: debugging line could still quote one.
_API_TOKEN = re.compile(r"\bmh_[A-Za-z0-9_-]{20,}")


def _redact(text: str) -> str:
    return _API_TOKEN.sub("mh_***", _HOOK_SECRET.sub(r"\1***", text))


class RedactHookSecrets(logging.Filter):
    """Rewrites ``/hooks/{source}/{secret}`` to ``/hooks/{source}/***`` and API tokens to
    ``mh_***`` in messages and args."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact = RedactHookSecrets()
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "arq", "mailhook"):
        logging.getLogger(name).addFilter(redact)
    # aiosmtpd logs every SMTP command line at INFO, recipient addresses included.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # alembic narrates every connection at INFO ("Context impl SQLiteImpl."); commands whose output
    # is the answer (check, dev, migrate) say what matters themselves.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def uvicorn_log_config() -> dict[str, object]:
    """uvicorn's own handlers, with the redacting filter attached to its access log."""
    config: dict[str, object] = {**LOGGING_CONFIG}
    config["filters"] = {"redact": {"()": RedactHookSecrets}}
    handlers = {name: dict(h) for name, h in LOGGING_CONFIG["handlers"].items()}
    for handler in handlers.values():
        handler["filters"] = ["redact"]
    config["handlers"] = handlers
    return config


def first_line(exc: BaseException) -> str:
    """A driver error for the log: database drivers quote SQL parameters (bodies, addresses) in
    their messages after the first line, so only that line is kept, and bounded."""
    text = str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
