"""Turn an HTML mail body into the text a person would read.

Extractors reason about lines ("the code stands alone on its own line", "the word *code*
is just above it"), so block structure must survive as line breaks while inline markup
(``<b>``, ``<span>``) must not split a sentence. ``<head>``, ``<style>`` and ``<script>``
are dropped because CSS and JS are full of number-shaped tokens. The tree is walked
iteratively, never recursively, so deeply nested hostile HTML cannot exhaust the stack.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["html_to_text", "prominent_texts"]

_DROP = frozenset({"head", "script", "style", "noscript", "template", "title", "meta", "link", "svg", "object"})
# Blocks that a mail client sets apart with vertical space (a blank line here) ...
_PARAGRAPH = frozenset(
    {"address", "blockquote", "dl", "fieldset", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol",
     "p", "pre", "table", "ul"}
)  # fmt: skip
# ... and blocks that merely start on a new line. Table cells stay on their row's line,
# so "Code: | 123456" laid out in two cells still reads as one sentence.
_LINE = frozenset(
    {"article", "aside", "body", "caption", "center", "dd", "details", "dialog", "div", "dt", "figcaption",
     "footer", "header", "html", "legend", "li", "main", "nav", "section", "summary", "tbody", "tfoot", "thead",
     "tr"}
)  # fmt: skip
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff]+")
_NEWLINE = "\n"
_BREAK, _PARA = 1, 2  # break markers; a run of them collapses to the strongest


def _marker(tag: str) -> str | int | None:
    """What an element puts before and after its content: a break marker, a space, or nothing."""
    if tag in _PARAGRAPH:
        return _PARA
    if tag in _LINE:
        return _BREAK
    return " " if tag in _CELL else None


def _walk(root: LexborNode) -> list[str | int]:
    """Emit text pieces and break markers in document order without recursion.

    Source newlines inside text are formatting, not breaks, except under ``<pre>``;
    ``<br>`` is a literal newline that does not collapse with block breaks.
    """
    out: list[str | int] = []
    # (node, marker to emit when the element closes or None when opening it, inside <pre>)
    stack: list[tuple[LexborNode, str | int | None, bool]] = [(root, None, False)]
    while stack:
        node, closing, in_pre = stack.pop()
        tag = node.tag or ""
        if closing is not None:
            out.append(closing)
        elif node.is_text_node:
            text = node.text_content or ""
            out.append(text if in_pre else text.replace(_NEWLINE, " "))
        elif tag == "br":
            out.append(_NEWLINE)
        elif tag not in _DROP and not node.is_comment_node:
            marker = _marker(tag)
            if marker is not None:
                out.append(marker)
                stack.append((node, marker, in_pre))
            child_pre = in_pre or tag == "pre"
            stack.extend((child, None, child_pre) for child in reversed(_children(node)))
    return out


def _children(node: LexborNode) -> list[LexborNode]:
    """Direct children, text nodes included."""
    kids: list[LexborNode] = []
    child = node.child
    while child is not None:
        kids.append(child)
        child = child.next
    return kids


def _join(pieces: list[str | int]) -> str:
    """Join text, turning each run of break markers into one or two newlines.

    Whitespace-only text between blocks (template indentation) does not end a run.
    """
    out: list[str] = []
    pending = 0
    for piece in pieces:
        if isinstance(piece, int):
            pending = max(pending, piece)
        elif pending and not piece.strip(" \t"):
            continue
        else:
            if pending and out:
                out.append(_NEWLINE * pending)
            pending = 0
            out.append(piece)
    return "".join(out)


def _tidy(raw: str) -> str:
    """Collapse runs of whitespace inside lines and keep at most one blank line between blocks."""
    lines = [_SPACES.sub(" ", line).strip() for line in raw.split(_NEWLINE)]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return _NEWLINE.join(tidy).strip()


def html_to_text(html: str) -> str:
    """Readable plain text of ``html``: block elements and ``<br>`` become line breaks."""
    if not html or not html.strip():
        return ""
    tree = LexborHTMLParser(html)
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return ""
    return _tidy(_join(_walk(root)))


_PROMINENT = "b, strong, em, h1, h2, h3, h4, code, kbd, tt, samp, mark, big, font, span, td, th, p, div, li"
_PROMINENT_MAX_NODES = 5000
_PROMINENT_MAX_LEN = 24


def prominent_texts(html: str) -> set[str]:
    """Short strings that fill a whole element on their own, e.g. ``<b>123456</b>``.

    Senders set the one-time code apart in its own bold cell or heading; a token that is the
    complete text of such an element is more likely to be the thing to type. Bounded in node
    count so a pathological document costs little.
    """
    if not html or not html.strip():
        return set()
    tree = LexborHTMLParser(html)
    found: set[str] = set()
    for count, node in enumerate(tree.css(_PROMINENT)):
        if count >= _PROMINENT_MAX_NODES:
            break
        kids = _children(node)
        # Only elements whose children are all text: O(children), never a whole subtree.
        if kids and all(kid.is_text_node for kid in kids):
            text = _SPACES.sub(" ", " ".join(kid.text_content or "" for kid in kids)).strip()
            if text and len(text) <= _PROMINENT_MAX_LEN:
                found.add(text)
    return found
