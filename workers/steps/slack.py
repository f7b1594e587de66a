"""``slack``: post sender, subject, recipient, the one-time code and the verification link to a webhook.

Slack's incoming webhooks answer 200 ``ok``; 429 with ``Retry-After`` when rate limited; 4xx
with a plain-text reason (``invalid_payload``, ``no_service``, ``channel_is_archived``) that no
retry will fix; 5xx when Slack itself is unwell.

``text`` and ``blocks`` override the built-in message. Both are Jinja2 templates (every string
inside ``blocks``) rendered with ``message`` and ``outputs``; pipe user-controlled values
through ``| mrkdwn`` so a subject like ``<!channel>`` cannot ping everyone. When only
``blocks`` is given, the built-in summary stays as ``text``: Slack shows it in notifications.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from service.mail.recipients import recipients
from workers.effects.http_target import check_response, post
from workers.extract import find_links
from workers.render.templating import TemplateSource, TemplateTree, mrkdwn_escape, render, render_tree, template_context
from workers.steps.base import PermanentStepError, Step, StepContext, StepParams


class SlackParams(StepParams):
    webhook_url: SecretStr | None = None
    text: TemplateSource | None = None
    blocks: TemplateTree | None = None


class Slack(Step[SlackParams]):
    """Post a summary (or your templated text/blocks) to a Slack incoming webhook."""

    side_effects = True

    name = "slack"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        url = self._url(ctx)
        payload = await self._payload(ctx)
        response = await post(ctx, url, target="slack", json=payload)
        check_response(response, target="slack", retry_on={429})
        return {"status": response.status_code}

    async def _payload(self, ctx: StepContext) -> dict[str, Any]:
        payload = build_payload(ctx)
        if self.params.text is None and self.params.blocks is None:
            return payload
        context = await template_context(ctx)
        if self.params.text is not None:
            payload["text"] = render(self.params.text, context)
        if self.params.blocks is not None:
            payload["blocks"] = render_tree(self.params.blocks, context)
        elif self.params.text is not None:
            del payload["blocks"]  # the built-in blocks would contradict a custom text
        return payload

    def _url(self, ctx: StepContext) -> str:
        if self.params.webhook_url:
            return self.params.webhook_url.get_secret_value()
        slack = ctx.deps.config.current.slack
        if slack is None:
            raise PermanentStepError("no Slack webhook configured (slack.webhook_url)")
        return slack.webhook_url.get_secret_value()


def build_payload(ctx: StepContext) -> dict[str, Any]:
    """The built-in message: a one-line summary for notifications plus a compact card."""
    message = ctx.message
    code = (ctx.outputs.get("extract_otp") or {}).get("code")
    link = verification_link(ctx)
    sender = message.from_address or message.envelope_from or "unknown sender"
    recipient = ", ".join(recipients(message.envelope_to, message.to, message.cc)) or "unknown recipient"
    subject = message.subject or "(no subject)"
    summary = f"New mail for {mrkdwn_escape(recipient)} from {mrkdwn_escape(sender)}: {mrkdwn_escape(subject)}"
    if code:
        summary += f" (code {code})"
    if link:
        summary += f" {slack_link(link)}"
    fields = [
        {"type": "mrkdwn", "text": f"*From*\n{mrkdwn_escape(sender)}"},
        {"type": "mrkdwn", "text": f"*To*\n{mrkdwn_escape(recipient)}"},
    ]
    if code:
        fields.append({"type": "mrkdwn", "text": f"*Code*\n`{mrkdwn_escape(code)}`"})
    if link:
        fields.append({"type": "mrkdwn", "text": f"*Link*\n{slack_link(link)}"})
    return {
        "text": summary,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{mrkdwn_escape(subject)}*"}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"mailhook message `{message.id}`"}]},
        ],
    }


def verification_link(ctx: StepContext) -> str | None:
    """The link a reader would click first: ``extract_links``'s output when it ran, else found here,
    so the default pipeline (parse, extract_otp, slack) shows verification links too."""
    output = ctx.outputs.get("extract_links")
    if output is not None:
        links = output.get("links") or []
    else:
        _, text, html = ctx.texts()
        links = find_links(text, html)
    return str(links[0]) if links else None


def slack_link(url: str) -> str:
    """``<url|text>`` in Slack's mrkdwn: ``<``, ``>`` and ``|`` would end the link early, so they are
    percent-encoded in the URL (where they are not valid unencoded anyway)."""
    safe = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    label = mrkdwn_escape(url if len(url) <= 80 else url[:77] + "...").replace("|", "%7C")
    return f"<{safe}|{label}>"
