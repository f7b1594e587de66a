"""The email-HTML sanitizer on its own: what it removes, what it keeps, what it rewrites."""

from __future__ import annotations

import pytest

from service.ui.htmlsafe import MAX_INLINE_IMAGE, document, sanitize

PNG = b"\x89PNG\r\n\x1a\n0000"


def images(cid: str) -> tuple[str, bytes] | None:
    return ("image/png", PNG) if cid == "logo@acme" else None


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<body onload=alert(1)>",
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<base href="https://evil.example/">',
        '<iframe src="https://evil.example"></iframe>',
        '<object data="https://evil.example/x.swf"></object>',
        '<form action="https://evil.example"><input name=a></form>',
        "<svg><script>alert(1)</script></svg>",
        '<link rel=stylesheet href="https://evil.example/x.css">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    ],
)
def test_nothing_that_runs_navigates_or_submits_survives(hostile: str) -> None:
    cleaned = sanitize(f"<p>before</p>{hostile}<p>after</p>").lower()
    for marker in ("<script", "onerror", "onload", "<meta", "<base", "<iframe", "<object", "<form", "<link",
                   "javascript:", "data:text", "evil.example"):  # fmt: skip
        assert marker not in cleaned, (hostile, cleaned)
    assert "before" in cleaned and "after" in cleaned


def test_remote_images_and_css_are_removed_unless_asked_for() -> None:
    html = (
        '<img src="https://t.example/p.gif" alt="pixel"><img src="//t.example/q.gif">'
        '<table background="http://t.example/bg.png"><tr><td style="background:url(https://t.example/td.png)">x'
        '</td></tr></table><style>@import url("https://t.example/a.css"); p{background:url(http://t.example/s.png)}'
        ".x{background:\\75 rl(https://t.example/esc.png)} .y{background:image-set('https://t.example/set.png' 1x)}"
        "</style>"
    )
    blocked = sanitize(html)
    assert "t.example" not in blocked and "background:none" in blocked
    assert 'alt="pixel"' in blocked
    shown = sanitize(html, remote=True)
    for url in (
        "https://t.example/p.gif",
        "http://t.example/bg.png",
        "https://t.example/td.png",
        "http://t.example/s.png",
    ):
        assert url in shown
    assert "//t.example/q.gif" not in shown  # protocol-relative: no scheme we can vouch for
    assert "@import" not in shown


def test_inline_cid_images_become_data_uris_and_data_images_stay() -> None:
    cleaned = sanitize(
        '<img src="cid:logo@acme"><img src="cid:missing"><img src="data:image/gif;base64,R0lGOD==">', inline=images
    )
    assert '<img src="data:image/png;base64,iVBORw0KGgowMDAw">' in cleaned
    assert cleaned.count("<img") == 3 and "cid:" not in cleaned
    assert 'src="data:image/gif;base64,R0lGOD=="' in cleaned


def test_oversized_or_non_image_inline_parts_are_not_inlined() -> None:
    big = sanitize('<img src="cid:big">', inline=lambda _: ("image/png", b"0" * (MAX_INLINE_IMAGE + 1)))
    svg = sanitize('<img src="cid:svg">', inline=lambda _: ("image/svg+xml", b"<svg onload=alert(1)>"))
    assert "data:" not in big and "data:" not in svg


def test_links_open_in_a_new_tab_without_referrer_and_relative_links_go() -> None:
    cleaned = sanitize('<a href="https://acme.example/verify?t=1">Verify</a><a href="/ui/status">rel</a>')
    assert 'href="https://acme.example/verify?t=1"' in cleaned
    assert 'target="_blank"' in cleaned and 'rel="noopener noreferrer nofollow"' in cleaned
    assert "/ui/status" not in cleaned


def test_a_style_block_cannot_be_closed_from_inside() -> None:
    cleaned = sanitize('<style>p{content:"\\3c/style><script>alert(1)</script>"}</style><p>x</p>')
    assert "<script" not in cleaned and cleaned.count("</style>") == 1


def test_ordinary_email_layout_survives() -> None:
    html = (
        '<table width="600" cellpadding="0" bgcolor="#ffffff"><tr><td align="center" style="color:#333;'
        'font-family:Arial">Your code is <b>482913</b></td></tr></table><font color="red" face="Arial">hi</font>'
    )
    cleaned = sanitize(html)
    for kept in ('width="600"', 'bgcolor="#ffffff"', 'align="center"', "color:#333", "<b>482913</b>", 'face="Arial"'):
        assert kept in cleaned


def test_the_document_wraps_the_fragment() -> None:
    page = document("<p>x</p>")
    assert page.startswith("<!doctype html>") and "<body><p>x</p></body>" in page
    assert '<meta name="referrer" content="no-referrer">' in page
