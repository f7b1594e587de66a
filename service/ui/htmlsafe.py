"""Email HTML made safe to show: an allow-list sanitizer (nh3, i.e. Rust's ammonia) plus our own
rules for URLs.

Why sanitize at all, when the HTML is shown in an ``<iframe sandbox>`` (no scripts, opaque
origin) under a ``default-src 'none'`` Content-Security-Policy? Those two already stop scripts,
cookie theft and top-page navigation, and they are what the browser tests attack with the raw
HTML. The server-side pass is for everything they leave to the browser's discretion:

* **privacy**: a remote image or stylesheet tells the sender "opened, from this IP, now". They
  must not load until the viewer asks. CSP alone would block them, but the browser still sees
  the URL and reports each refusal as a console error; so remote URLs are removed here
  (``remote=False``) and the CSP is the second wall, not the first.
* **noise and surprises**: ``<meta http-equiv=refresh>``, ``<base>``, forms, ``javascript:`` links
  and event handlers are dropped rather than left for the sandbox to refuse one by one.
* **inline images**: ``cid:`` references become ``data:`` URIs of the message's own attachments,
  which the CSP allows (the frame cannot fetch ``/ui`` URLs: it has no cookies, being sandboxed).

Links keep working: they open in a new tab (``target=_blank``, ``rel=noopener noreferrer``),
which the frame's ``allow-popups`` permits; nothing else may leave the frame.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import nh3

#: Inline images larger than this stay out (a data: URI is held in memory and in the page).
MAX_INLINE_IMAGE = 2 * 1024 * 1024
_IMAGE_TYPES = ("image/png", "image/gif", "image/jpeg", "image/webp", "image/bmp")

TAGS = (set(nh3.ALLOWED_TAGS) | {"style", "font", "big", "tfoot", "section", "main", "address"}) - {"area", "map"}
#: Removed with everything inside them (ammonia keeps the text of other unknown tags).
CONTENT_TAGS = {"script", "title", "template", "iframe", "object", "embed", "textarea", "select", "svg", "math"}
_COMMON = {"style", "class", "dir", "lang", "title", "align", "valign", "width", "height", "bgcolor", "color"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON,
    "a": {"href", "name"},
    "img": {"src", "alt", "border", "hspace", "vspace"},
    "font": {"face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "background", "summary", "role"},
    "td": {"colspan", "rowspan", "background", "nowrap", "headers", "scope"},
    "th": {"colspan", "rowspan", "background", "nowrap", "headers", "scope"},
    "tr": {"background"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "col": {"span"},
    "colgroup": {"span"},
    "blockquote": {"cite"},
}
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_REMOTE = re.compile(r"^(?:https?:)?//", re.I)
_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpeg|webp|bmp);base64,[A-Za-z0-9+/=\s]*$", re.I)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
_CSS_URL = re.compile(r"url\(\s*(?:\"([^\"]*)\"|'([^']*)'|([^)\s]*))\s*\)", re.I)
_CSS_IMPORT = re.compile(r"@import\b[^;]*;?", re.I)
_CSS_IMAGE_SET = re.compile(r"(?:-webkit-)?image-set\s*\(", re.I)
_STYLE_BLOCK = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.I | re.S)

#: Looks up an inline (``cid:``) image: content id -> (content type, bytes), or ``None``.
InlineImages = Callable[[str], tuple[str, bytes] | None]


def data_uri(content_type: str, data: bytes) -> str | None:
    if content_type.lower() not in _IMAGE_TYPES or len(data) > MAX_INLINE_IMAGE:
        return None
    return f"data:{content_type.lower()};base64,{base64.b64encode(data).decode()}"


class _Rules:
    """The URL rules for one rendering (remote content allowed or not, this message's images)."""

    def __init__(self, *, remote: bool, inline: InlineImages) -> None:
        self.remote = remote
        self.inline = inline

    def resource(self, url: str) -> str | None:
        """An image/background URL: ``cid:`` inlined, ``data:`` images kept, remote ones only
        when the viewer asked; anything else dropped."""
        url = url.strip()
        if url.lower().startswith("cid:"):
            found = self.inline(url[4:].strip().strip("<>"))
            return data_uri(*found) if found else None
        if _DATA_IMAGE.match(url):
            return url
        if _REMOTE.match(url):
            return url if self.remote and not url.startswith("//") else None
        return None

    def link(self, url: str) -> str | None:
        url = url.strip()
        return url if url.lower().startswith(_LINK_SCHEMES) else None

    def css(self, css: str) -> str:
        """CSS with escapes decoded (``\\75 rl(`` is ``url(``), ``@import`` removed and every
        ``url()`` put through ``resource``; ``<`` is re-escaped so a ``<style>`` cannot be closed."""
        css = _CSS_ESCAPE.sub(_unescape, css)
        css = _CSS_IMPORT.sub("", css)
        if not self.remote:
            css = _without_image_sets(css)
        css = _CSS_URL.sub(self._css_url, css)
        return css.replace("<", "\\3c ")

    def _css_url(self, match: re.Match[str]) -> str:
        url = next((g for g in match.groups() if g is not None), "")
        kept = self.resource(url)
        return f'url("{kept}")' if kept else 'url("")'

    def attribute(self, tag: str, name: str, value: str) -> str | None:
        if name == "style":
            return self.css(value)
        if name == "background" or (tag == "img" and name == "src"):
            return self.resource(value)
        if tag == "a" and name == "href":
            return self.link(value)
        return value


def _without_image_sets(css: str) -> str:
    """``image-set(…)`` calls replaced by ``none``: they may name images as bare strings, which
    the ``url()`` rule would not see."""
    while (found := _CSS_IMAGE_SET.search(css)) is not None:
        depth, end = 1, found.end()
        while end < len(css) and depth:
            depth += {"(": 1, ")": -1}.get(css[end], 0)
            end += 1
        css = css[: found.start()] + "none" + css[end:]
    return css


def _unescape(match: re.Match[str]) -> str:
    if match.group(1):
        code = int(match.group(1), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    return match.group(2)


def sanitize(html: str, *, remote: bool = False, inline: InlineImages | None = None) -> str:
    """The email's HTML as a safe fragment (see the module docstring for what that means)."""
    rules = _Rules(remote=remote, inline=inline or (lambda _cid: None))
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=CONTENT_TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=rules.attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return _STYLE_BLOCK.sub(lambda m: m.group(1) + rules.css(m.group(2)) + m.group(3), cleaned)


_FRAME_CSS = (
    "html{color-scheme:light}body{margin:0;padding:12px;font:14px/1.45 system-ui,sans-serif;"
    "overflow-wrap:anywhere;background:#fff;color:#111}img{max-width:100%;height:auto}"
)


def document(fragment: str) -> str:
    """A whole page around a sanitized fragment, for the sandboxed frame."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        f"<style>{_FRAME_CSS}</style></head><body>{fragment}</body></html>"
    )
