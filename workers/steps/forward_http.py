"""``forward_http``: POST the message as JSON to your endpoint, signed per Standard Webhooks.

Signing follows https://www.standardwebhooks.com: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the
base64-decoded part of a ``whsec_…`` secret, so receivers verify with any Standard Webhooks
library (``Webhook(secret).verify(body, headers)``). The id is the same on every retry of a
message through this step so receivers can deduplicate; the timestamp is per attempt, as the
spec asks, so a retry hours later still passes the receiver's five-minute tolerance.

A target bound to one mail address (``address:``, e.g. a person's own webhook that stands in
for mailing them) is skipped while that address is on the suppression list, and the step's
output says why.

Status handling follows common webhook-sender practice (Svix, Stripe): 2xx succeeds;
408/409/425/429 and 5xx are retried, honouring ``Retry-After``; any other 4xx means the
receiver rejects this request and will keep doing so. Redirects are not followed: a signed
POST re-sent as a GET (what 301/302 mean to most clients) would be a different request.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SecretStr, field_validator
from standardwebhooks import Webhook

from workers.effects.http_target import check_response, post
from workers.effects.suppression import split_suppressed
from workers.render.templating import TemplateSource, render, template_context
from workers.steps.base import PermanentStepError, Step, StepContext, StepParams

RETRY_STATUSES = frozenset({408, 409, 425, 429})


class ForwardHttpParams(StepParams):
    url: SecretStr
    secret: SecretStr
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(15.0, gt=0, le=300)
    template: TemplateSource | None = None
    #: The mail address this endpoint delivers to, when it is bound to one (suppression applies).
    address: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, value: SecretStr) -> SecretStr:
        try:
            Webhook(value.get_secret_value())
        except Exception as exc:  # binascii.Error, EmptyWebhookSecretError, RuntimeError
            raise ValueError(f"not a Standard Webhooks secret (whsec_<base64>): {type(exc).__name__}") from None
        return value


class ForwardHttp(Step[ForwardHttpParams]):
    """POST the normalized message JSON to ``url`` with Standard Webhooks signature headers."""

    side_effects = True

    name = "forward_http"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        if self.params.address:
            kept, suppressed = await split_suppressed(ctx, [self.params.address])
            if not kept:
                return {"sent": False, "suppressed": suppressed}
        context = await template_context(ctx)
        body = self._body(context)
        webhook_id = self.webhook_id(ctx)
        custom = {name.lower(): value for name, value in self.params.headers.items()}
        headers = {**custom, **self._signature_headers(webhook_id, body)}
        response = await post(
            ctx,
            self.params.url.get_secret_value(),
            target="forward_http",
            content=body,
            headers=headers,
            timeout=self.params.timeout,
            follow_redirects=False,
        )
        if 300 <= response.status_code < 400:
            raise PermanentStepError(f"forward_http answered {response.status_code}: redirects are not followed")
        check_response(response, target="forward_http", retry_on=RETRY_STATUSES)
        return {"status": response.status_code, "webhook_id": webhook_id}

    def _body(self, context: dict[str, Any]) -> bytes:
        """The message JSON, or the template's output, which must itself be JSON."""
        if self.params.template is None:
            return json.dumps(context["message"], separators=(",", ":")).encode()
        rendered = render(self.params.template, context)
        try:
            json.loads(rendered)
        except ValueError as exc:
            raise PermanentStepError(f"forward_http template did not render JSON: {exc}") from None
        return rendered.encode()

    def webhook_id(self, ctx: StepContext) -> str:
        """Stable per (message, pipeline, target, payload shape): retries reuse it, other targets do not."""
        target = "\x1f".join((ctx.pipeline, self.params.url.get_secret_value(), self.params.template or ""))
        return f"msg_{ctx.message.id}_{hashlib.sha256(target.encode()).hexdigest()[:12]}"

    def _signature_headers(self, webhook_id: str, body: bytes) -> dict[str, str]:
        now = datetime.now(UTC).replace(microsecond=0)
        signature = Webhook(self.params.secret.get_secret_value()).sign(webhook_id, now, body.decode())
        return {
            "content-type": "application/json",
            "user-agent": "mailhook",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
