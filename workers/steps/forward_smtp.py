"""``forward_smtp``: re-send the original message through your SMTP relay with ``Resent-*`` headers.

SMTP reply classes decide retries (RFC 5321 §4.2.1): 4yz is "transient, try again", 5yz is
"permanent, don't repeat". Connection failures and timeouts are transient. A relay that
accepts some recipients and refuses others has *delivered* to the rest, so that is a success
listing the refusals: retrying would send the accepted copies twice.

Recipients on the suppression list (``deps.suppressions``: hard bounces, complaints, repeated
soft bounces, manual entries) are skipped, each listed with its reason under ``suppressed``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal

import aiosmtplib
from pydantic import ConfigDict, Field, SecretStr, field_validator
from sqlmodel import Session

from service.outbound import OutboundBlocked, OutboundPolicy
from service.store.messages import list_attachments
from service.store.models import Attachment
from workers.effects.resend import mime_from_fields, resent_block, resent_message_id
from workers.effects.smtp_guard import guarded_socket
from workers.effects.suppression import split_suppressed
from workers.steps.base import PermanentStepError, RetryableStepError, Step, StepContext, StepParams

_DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


class ForwardSmtpParams(StepParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    envelope_from: str | None = None
    timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("to", "from_", "envelope_from", "host")
    @classmethod
    def _single_line(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if item is not None and any(c in item for c in "\r\n\0"):
                raise ValueError("must not contain line breaks")
        return value


class ForwardSmtp(Step[ForwardSmtpParams]):
    """Re-send the original MIME through an SMTP relay, prepending ``Resent-*`` headers."""

    side_effects = True

    name = "forward_smtp"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        recipients, suppressed = await split_suppressed(ctx, self.params.to)
        if not recipients:
            return {"sent": False, "suppressed": suppressed}
        data = await self._data(ctx, recipients)
        try:
            errors = await self._send(ctx, recipients, data)
        except OutboundBlocked as exc:
            raise PermanentStepError(f"smtp relay refused: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            raise _step_error(exc) from None
        except (OSError, TimeoutError) as exc:
            raise RetryableStepError(f"smtp relay unreachable: {type(exc).__name__}: {exc}") from None
        return {"sent": True, "to": recipients, "refused": errors, "suppressed": suppressed}

    async def _data(self, ctx: StepContext, recipients: list[str]) -> bytes:
        original = await asyncio.to_thread(ctx.raw_mime)
        if original is None:
            try:
                original = await asyncio.to_thread(_rebuild, ctx)
            except Exception as exc:  # odd stored values or a missing blob: the same next time
                raise PermanentStepError(
                    f"cannot rebuild MIME from stored fields: {type(exc).__name__}: {exc}"
                ) from None
        message_id = resent_message_id(ctx.message, self.params.from_, recipients)
        block = resent_block(resent_from=self.params.from_, to=recipients, now=datetime.now(UTC), message_id=message_id)
        return block + original

    async def _send(self, ctx: StepContext, recipients: list[str], data: bytes) -> dict[str, str]:
        params = self.params
        policy = OutboundPolicy(allow_hosts=frozenset(ctx.deps.config.current.outbound.allow_hosts))
        port = params.port or _DEFAULT_PORTS[params.security]
        sock = await guarded_socket(params.host, port, policy, timeout=params.timeout)
        try:
            client = aiosmtplib.SMTP(
                hostname=params.host,
                sock=sock,
                use_tls=params.security == "tls",
                start_tls=params.security == "starttls",
                username=params.username,
                password=params.password.get_secret_value() if params.password else None,
                timeout=params.timeout,
            )
            async with client:
                errors, _ = await client.sendmail(params.envelope_from or params.from_, recipients, data)
        finally:
            sock.close()  # aiosmtplib closes its transport; this covers a failed connect
        return {address: f"{response.code} {response.message}" for address, response in errors.items()}


def _rebuild(ctx: StepContext) -> bytes:
    with Session(ctx.deps.engine) as session:
        rows: list[Attachment] = list_attachments(session, ctx.message.id)
    return mime_from_fields(ctx.message, rows, ctx.deps.blobs)


def _step_error(exc: aiosmtplib.SMTPException) -> Exception:
    """4yz and lost connections: retry; 5yz and missing capabilities (STARTTLS, AUTH): give up."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if any(400 <= r.code < 500 for r in exc.recipients):
            return RetryableStepError(f"smtp relay deferred all recipients: {detail}")
        return PermanentStepError(f"smtp relay refused all recipients: {detail}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        message = f"smtp relay answered {exc.code} {exc.message}"
        return PermanentStepError(message) if exc.code >= 500 else RetryableStepError(message)
    if type(exc) in (aiosmtplib.SMTPException, aiosmtplib.SMTPNotSupported):
        # aiosmtplib raises the bare class when the relay lacks STARTTLS or AUTH: a config mismatch.
        return PermanentStepError(f"smtp relay cannot do what the config asks: {exc}")
    return RetryableStepError(f"smtp relay failed: {type(exc).__name__}: {exc}")
