"""Unit tests for verification-link extraction on small hand-written mails."""

from __future__ import annotations

import re

import pytest

from workers.extract import find_links
from workers.extract.nocase import NoCase

VERIFY = "https://app.example.com/verify-email?token=Zq81xLm0Pa9dQe4Rt7YuIo2&uid=42"

NEWSLETTER_HTML = f"""
<html><head><link rel="stylesheet" href="https://cdn.example.com/mail.css">
<link href="https://fonts.example.com/inter.woff2" rel="preload"></head>
<body>
<a href="https://www.example.com/"><img src="https://cdn.example.com/logo.png" alt="" width="200"></a>
<p>Welcome aboard! Please confirm your address.</p>
<p><a href="{VERIFY.replace("&", "&amp;")}" class="button">Verify email</a></p>
<p>Questions? <a href="mailto:help@example.com">Write to us</a> or <a href="tel:+18005550199">call</a>.</p>
<p><a href="https://www.example.com/privacy">Privacy</a> |
<a href="https://mail.example.com/u/abc123">Unsubscribe</a> |
<a href="https://example.com/preferences?list=7">Manage email preferences</a></p>
<a href="https://twitter.com/example"><img src="https://cdn.example.com/tw.png" alt="Twitter" width="24"></a>
<a href="https://www.instagram.com/example/">Instagram</a>
<a href="#top">Back to top</a>
<img src="https://t.example.com/open.gif?id=1" width="1" height="1">
</body></html>
"""


def test_verification_link_first_and_junk_dropped() -> None:
    links = find_links(None, NEWSLETTER_HTML)
    assert links[0] == VERIFY
    assert "https://www.example.com/privacy" in links
    for junk in (
        "mail.css",
        "woff2",
        "logo.png",
        "mailto:",
        "tel:",
        "/u/abc123",
        "preferences",
        "twitter",
        "instagram",
    ):
        assert not any(junk in link for link in links), junk
    assert not any(link.startswith("#") or "open.gif" in link for link in links)


def test_entities_unescaped_exactly() -> None:
    html = '<a href="https://x.example/confirm?a=1&amp;b=2&copy=3">Confirm</a>'
    assert find_links(None, html) == ["https://x.example/confirm?a=1&b=2&copy=3"]
    text = "Confirm: https://x.example/confirm?a=1&amp;b=2&copy=3"
    assert find_links(text, None) == ["https://x.example/confirm?a=1&b=2&copy=3"]


def test_plain_text_urls_trimmed_and_ranked() -> None:
    text = (
        "Read our guide (https://example.com/help/).\n"
        "See https://en.wikipedia.org/wiki/Foo_(bar), it is good.\n"
        "To sign in, click the link below:\n"
        "<https://example.com/auth/magic?t=abcdefghijklmnopqrstuvwxyz012345>.\n"
    )
    links = find_links(text, None)
    assert links[0] == "https://example.com/auth/magic?t=abcdefghijklmnopqrstuvwxyz012345"
    assert set(links[1:]) == {"https://example.com/help/", "https://en.wikipedia.org/wiki/Foo_(bar)"}


def test_dedupes_across_text_and_html() -> None:
    text = f"Verify your account: {VERIFY}\nVisit https://www.example.com/ for more."
    html = f'<a href="{VERIFY}">Verify</a> <a href="https://www.example.com/">Home</a>'
    assert find_links(text, html) == [VERIFY, "https://www.example.com/"]


def test_reset_and_magic_links_beat_homepage() -> None:
    html = (
        '<a href="https://shop.example.com/">Shop</a>'
        '<a href="https://shop.example.com/account/password/reset/key/3n-Kd9x2Lq8Zp7Vb4Nm1Qw">Reset password</a>'
    )
    assert find_links(None, html)[0].endswith("/reset/key/3n-Kd9x2Lq8Zp7Vb4Nm1Qw")


def test_social_host_kept_when_it_is_the_verification_link() -> None:
    html = '<a href="https://github.com/login/device/confirm?code=ABCD">Confirm device</a>'
    assert find_links(None, html) == ["https://github.com/login/device/confirm?code=ABCD"]


def test_assets_in_plain_text_dropped() -> None:
    text = "https://cdn.example.com/a.png https://cdn.example.com/s.css https://example.com/doc"
    assert find_links(text, None) == ["https://example.com/doc"]


def test_namespace_and_dtd_urls_dropped() -> None:
    text = '<!DOCTYPE html SYSTEM "http://www.w3.org/TR/html4/loose.dtd">\nhttp://schemas.microsoft.com/office/2004/'
    assert find_links(text, None) == []


def test_empty_inputs() -> None:
    assert find_links(None, None) == []
    assert find_links("", "") == []
    assert find_links("no links here", "<p>none</p>") == []


def test_labels_and_urls_match_in_any_case() -> None:
    html = (
        '<a href="https://x.example/a/Zq8Lm3Nx7Rt2Vb5Kw9Hy4">READ MORE</a>'
        '<a href="https://x.example/CONFIRM/1">Open</a>'
        '<a href="https://x.example/b">BESTÄTIGEN</a>'
        '<a href="https://x.example/OPT-OUT">Stop</a>'
    )
    assert find_links(None, html) == [
        "https://x.example/CONFIRM/1",
        "https://x.example/b",
        "https://x.example/a/Zq8Lm3Nx7Rt2Vb5Kw9Hy4",
    ]


@pytest.mark.parametrize("text", ["Sign IN here", "SİGN in", "ſign-in", "Anmeldung", "no match", "", "x" * 300])
def test_nocase_matches_as_ignorecase_does(text: str) -> None:
    words = r"sign[-_ ]?in|anmeld|log[-_ ]?in"
    expected = [match.span() for match in re.finditer(words, text, re.IGNORECASE)]
    assert [match.span() for match in NoCase(words).finditer(text)] == expected
    assert (NoCase(words).search(text) is None) == (not expected)


def test_nocase_refuses_upper_case_patterns() -> None:
    with pytest.raises(ValueError, match="lower case"):
        NoCase(r"\S+code")
