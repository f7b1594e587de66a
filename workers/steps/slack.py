"""``slack``: post sender, subject, recipient and the one-time code to an incoming webhook.

Slack's incoming webhooks answer 200 ``ok``; 429 with ``Retry-After`` when rate limited; 4xx
with a plain-text reason (``invalid_payload``, ``no_service``, ``channel_is_archived``) that no
retry will fix; 5xx when Slack itself is unwell.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from service.outbound import OutboundBlocked
from workers.steps.base import PermanentStepError, RetryableStepError, Step, StepContext, StepParams


class SlackParams(StepParams):
    webhook_url: SecretStr | None = None
    text: str | None = None


class Slack(Step):
    name = "slack"
    Params = SlackParams

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        assert isinstance(self.params, SlackParams)
        url = self._url(ctx)
        payload = build_payload(ctx)
        try:
            response = await ctx.deps.http().post(url, json=payload)
        except OutboundBlocked as exc:
            raise PermanentStepError(f"slack target refused: {exc}") from None
        except httpx.HTTPError as exc:
            raise RetryableStepError(f"slack unreachable: {type(exc).__name__}") from None
        return _outcome(response)

    def _url(self, ctx: StepContext) -> str:
        assert isinstance(self.params, SlackParams)
        if self.params.webhook_url:
            return self.params.webhook_url.get_secret_value()
        slack = ctx.deps.config.current.slack
        if slack is None:
            raise PermanentStepError("no Slack webhook configured (slack.webhook_url)")
        return slack.webhook_url.get_secret_value()


def _outcome(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        raise RetryableStepError("slack rate limited (429)", retry_after=_retry_after(response))
    if status >= 500:
        raise RetryableStepError(f"slack answered {status}")
    if status >= 400:
        raise PermanentStepError(f"slack refused the post: {status} {response.text[:100]}")
    return {"status": status}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.strip().isdigit() else None


def build_payload(ctx: StepContext) -> dict[str, Any]:
    message = ctx.message
    code = (ctx.outputs.get("extract_otp") or {}).get("code")
    sender = message.from_address or message.envelope_from or "unknown sender"
    recipient = ", ".join(message.envelope_to) or "unknown recipient"
    subject = message.subject or "(no subject)"
    summary = f"New mail for {recipient} from {sender}: {subject}"
    if code:
        summary += f" (code {code})"
    fields = [
        {"type": "mrkdwn", "text": f"*From*\n{_escape(sender)}"},
        {"type": "mrkdwn", "text": f"*To*\n{_escape(recipient)}"},
    ]
    if code:
        fields.append({"type": "mrkdwn", "text": f"*Code*\n`{_escape(code)}`"})
    return {
        "text": summary,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(subject)}*"}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"mailhook message `{message.id}`"}]},
        ],
    }


def _escape(text: str) -> str:
    """Slack mrkdwn treats <, > and & as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
