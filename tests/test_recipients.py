"""The one rule for who a message is for, and plus-address parts (service.mail.recipients)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.mail.recipients import base_address, plus_tag, recipients
from service.store.models import Message
from workers.pipeline.selection import routable

TO = [{"name": "Ada", "address": "ada@inbox.example"}]
CC = [{"name": None, "address": "cc@inbox.example"}]


def test_the_envelope_wins_when_the_provider_gave_one() -> None:
    assert recipients(["<qa+run1@inbox.example>"], TO, CC) == ["qa+run1@inbox.example"]


def test_without_an_envelope_the_to_header_then_cc_is_the_recipient() -> None:
    assert recipients([], TO, CC) == ["ada@inbox.example"]
    assert recipients([" "], [], CC) == ["cc@inbox.example"]
    assert recipients([], [], []) == []


@pytest.mark.parametrize(
    ("address", "tag", "base"),
    [
        ("signup+run1@QA.example", "run1", "signup@qa.example"),
        ("a+b+c@x.example", "b+c", "a@x.example"),
        ("user+@x.example", None, "user@x.example"),
        ("<plain@x.example>", None, "plain@x.example"),
        ("not-an-address", None, "not-an-address"),
    ],
)
def test_plus_tag_and_base_address(address: str, tag: str | None, base: str) -> None:
    assert plus_tag(address) == tag
    assert base_address(address) == base


def test_routes_see_the_same_recipient_as_slack_and_inspect() -> None:
    message = Message(id="m", source="raw", provider="raw", idempotency_key="k", received_at=datetime.now(UTC), to=TO)
    assert routable(message, []).envelope_to == ("ada@inbox.example",)
