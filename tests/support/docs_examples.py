"""The "Example deliveries" section of docs/providers.md, rendered from the test fixtures.

The docs show one real delivery per provider and a ``curl`` that replays it; they come from the
same fixture files the provider tests post, so they cannot drift. ``tests/test_docs_examples.py``
fails when the section differs from this rendering; refresh it with
``python -m tests.support.docs_examples``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "providers.md"
BEGIN, END = "<!-- examples:begin (generated from tests/fixtures) -->", "<!-- examples:end -->"

#: provider → (fixture, how it is sent)
EXAMPLES: dict[str, tuple[str, str]] = {
    "proxiedmail": ("proxiedmail/otp.json", "json"),
    "improvmx": ("improvmx/otp.json", "json"),
    "forwardemail": ("forwardemail/otp.json", "signed-json"),
    "postmark": ("postmark/inbound.json", "json"),
    "mailgun": ("mailgun/route.json", "form"),
    "sendgrid": ("sendgrid/parsed.json", "form"),
    "raw": ("raw/otp.eml", "mime"),
    "postmark-bounces": ("postmark_bounces/hard_bounce.json", "json"),
    "mailgun-events": ("mailgun_events/failed_permanent.json", "json"),
    "sendgrid-events": ("sendgrid_events/batch.json", "json"),
    "forwardemail-bounces": ("forwardemail_bounces/reject_recipient.json", "signed-json"),
}
#: Providers whose deliveries only their sender can produce: SNS signs with AWS's private key.
NOT_REPLAYABLE = {"ses", "ses-inbound"}


def _url(provider: str) -> str:
    return f"https://mailhook.example.com/hooks/{provider}/$HOOK_SECRET"


def _curl(provider: str, relative: str, kind: str, data: dict[str, Any] | None) -> str:
    path = f"tests/fixtures/{relative}"
    if kind == "json":
        return f"curl -sS {_url(provider)} \\\n  -H 'Content-Type: application/json' --data-binary @{path}"
    if kind == "signed-json":
        return (
            f"sig=$(openssl dgst -sha256 -hmac \"$FE_WEBHOOK_KEY\" -hex < {path} | sed 's/^.* //')\n"
            f"curl -sS {_url(provider)} \\\n  -H 'Content-Type: application/json' "
            f'-H "X-Webhook-Signature: $sig" --data-binary @{path}'
        )
    if kind == "mime":
        return (
            f"curl -sS '{_url(provider).replace('$HOOK_SECRET', '')}'\"$HOOK_SECRET\"'?to=login@in.example.net' "
            f"\\\n  -H 'Content-Type: message/rfc822' --data-binary @{path}"
        )
    assert data is not None
    fields = " \\\n  ".join(f"--form-string {shlex.quote(f'{name}={value}')}" for name, value in data["fields"].items())
    return f"curl -sS {_url(provider)} \\\n  {fields}"


def _body(relative: str, kind: str) -> tuple[str, str]:
    text = (ROOT / "tests" / "fixtures" / relative).read_text(encoding="utf-8")
    if kind == "mime":
        return "email", text.rstrip("\n")
    data = json.loads(text)
    if kind == "form":
        data = {key: value for key, value in data.items() if key != "_comment"}
    return "json", json.dumps(data, indent=2, ensure_ascii=False)


def render() -> str:
    parts = [
        BEGIN,
        "",
        "## Example deliveries",
        "",
        "One delivery per provider, exactly as the provider test suite posts it (`tests/fixtures/`), and a",
        "`curl` that replays it against your Mailhook from a checkout (set `HOOK_SECRET` to the source's",
        "secret). Form-posting providers (Mailgun, SendGrid) are shown as their form fields; Mailgun",
        "sources with `signing_keys` also need `timestamp`, `token` and `signature` fields (Mailgun",
        "event webhooks: a fresh `signature` block). Amazon SNS deliveries (`ses`, `ses-inbound`) are",
        "signed with AWS's key and cannot be replayed.",
        "",
    ]
    for provider, (relative, kind) in EXAMPLES.items():
        language, body = _body(relative, kind)
        data = json.loads(body) if kind == "form" else None
        parts += [
            f"### {provider}",
            "",
            f"<details><summary><code>tests/fixtures/{relative}</code></summary>",
            "",
            f"```{language}",
            body,
            "```",
            "",
            "</details>",
            "",
            "```sh",
            _curl(provider, relative, kind, data),
            "```",
            "",
        ]
    parts.append(END)
    return "\n".join(parts)


def current_section(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def main() -> None:
    text = DOC.read_bytes().decode("utf-8")
    section = current_section(text)
    updated = text.replace(section, render()) if section else text.rstrip("\n") + "\n\n" + render() + "\n"
    DOC.write_bytes(updated.encode("utf-8"))


if __name__ == "__main__":
    main()
