"""The provider-neutral rules: enhanced status and remote text to reason, permanence to kind."""

from __future__ import annotations

import pytest

from service.mail.bounce_rules import (
    clip,
    event_key,
    kind_for,
    normalise_recipient,
    parse_reply_code,
    parse_status,
    provider_key,
    reason_for,
)


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        ("5.1.1", None, "user_unknown"),
        ("5.1.10", None, "domain_not_found"),
        ("4.4.4", None, "domain_not_found"),
        ("4.2.2", None, "mailbox_full"),
        ("5.3.4", None, "too_large"),
        ("4.4.7", None, "expired"),
        ("5.7.26", None, "policy"),
        ("5.0.0", "550 No such user here", "user_unknown"),
        (None, "452 Mailbox full, over quota", "mailbox_full"),
        (None, "Host or domain name not found. Name service error", "domain_not_found"),
        (None, "554 rejected: listed at a blocklist", "policy"),
        (None, "connection timed out", "other"),
    ],
)
def test_reason_for(status: str | None, text: str | None, expected: str) -> None:
    assert reason_for(status, text) == expected


def test_kind_for_is_about_the_address() -> None:
    assert kind_for("user_unknown", "5.1.1", 550) == "hard"
    assert kind_for("user_unknown", "5.2.1", 550) == "soft"  # disabled, not gone
    assert kind_for("policy", "5.7.1", 554) == "soft"
    assert kind_for("user_unknown", "4.1.1", 450) == "soft"
    assert kind_for("domain_not_found", None, None, permanent=True) == "hard"
    # The provider said permanent and nothing else: trust it.
    assert kind_for("other", None, None, permanent=True) == "hard"
    assert kind_for("other", "5.0.0", 550, permanent=True) == "soft"


def test_parsers_and_keys() -> None:
    assert parse_status("smtp; 550 5.1.1 <a@b>: user unknown") == "5.1.1"
    assert parse_status("version 10.5.1.2") is None
    assert parse_reply_code("smtp; 550 5.1.1 user unknown") == 550
    assert normalise_recipient(" rfc822; <Ada@Example.ORG> ") == "Ada@example.org"
    assert clip("x" * 5000) is not None and len(clip("x" * 5000) or "") == 2000
    assert event_key("a", None, 1).startswith("sha256:") and event_key("a", None, 1) == event_key("a", "", "1")
    assert provider_key("id", "a@b") == "id|a@b" and provider_key("x" * 300).startswith("sha256:")
