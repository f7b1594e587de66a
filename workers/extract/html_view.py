"""Everything the extractors read from an HTML body, from one parse shared between them.

``extract_otp`` wants the text and the prominent strings, ``extract_links`` the anchors, and
``parse`` the text of HTML-only mail; the steps run one after the other on the same body.
Parsing and walking the HTML is most of what extraction costs, so it is done once per body:
``read_html`` remembers the last few bodies it read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from workers.extract.html_text import read_tree

__all__ = ["Anchor", "HtmlView", "html_to_text", "read_html"]

# Bodies above the bound are read afresh each time, so the cache holds a few megabytes at most.
_CACHE_MAX_CHARS = 200_000
_CACHE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Anchor:
    """An ``<a href>`` / ``<area href>`` and the words a reader sees for it."""

    href: str
    label: str  # visible text, image alt text and title
    icon: bool  # nothing but an image: a logo or a social/footer icon


@dataclass(frozen=True, slots=True)
class HtmlView:
    """The readable text, the prominent strings (see ``html_text``) and the anchors of a body."""

    text: str
    prominent: frozenset[str]
    anchors: tuple[Anchor, ...]


_EMPTY = HtmlView("", frozenset(), ())


def read_html(html: str) -> HtmlView:
    """What ``html`` says, read once and remembered for the last few bodies."""
    if len(html) > _CACHE_MAX_CHARS:
        return _read(html)
    return _read_cached(html)


def html_to_text(html: str) -> str:
    """Readable plain text of ``html``: block elements and ``<br>`` become line breaks."""
    return read_html(html).text if html else ""


def _read(html: str) -> HtmlView:
    if not html.strip():
        return _EMPTY
    tree = LexborHTMLParser(html)
    text, prominent = read_tree(tree)
    return HtmlView(text, prominent, _anchors(tree))


_read_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(_read)


def _anchors(tree: LexborHTMLParser) -> tuple[Anchor, ...]:
    """``<a href>`` / ``<area href>`` targets labelled by their visible text (or image alt)."""
    found: list[Anchor] = []
    for node in tree.css("a[href], area[href]"):
        attributes = node.attributes
        href = (attributes.get("href") or "").strip()
        if not href:
            continue
        label = (node.text(deep=True, separator=" ") or "").strip()
        # Only an anchor with element children can hold an image; most hold just their text.
        images = node.css("img") if next(node.iter(), None) is not None else []
        alt = " ".join((img.attributes.get("alt") or "") for img in images)
        found.append(Anchor(href, f"{label} {alt} {attributes.get('title') or ''}", bool(images) and not label))
    return tuple(found)
