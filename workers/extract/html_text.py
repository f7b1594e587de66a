"""Turn a parsed HTML mail body into the text a person would read, and its prominent strings.

Extractors reason about lines ("the code stands alone on its own line", "the word *code*
is just above it"), so block structure must survive as line breaks while inline markup
(``<b>``, ``<span>``) must not split a sentence. ``<head>``, ``<style>`` and ``<script>``
are dropped because CSS and JS are full of number-shaped tokens. The tree is walked
iteratively, never recursively, so deeply nested hostile HTML cannot exhaust the stack.

The same walk notes the short strings that fill a whole bold cell or heading on their own
(``<b>123456</b>``): senders set the one-time code apart like that. Reading both in one pass
matters because walking the tree from Python is most of what reading a body costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["read_tree"]

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
_SPACE_CHARS = " \t\r\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff"
# A run of spaces to collapse to one: any run but a lone " ", which is already collapsed (most
# matches of the plain run would be those, and replacing one costs as much as a real change).
_SPACES = re.compile(f"[{_SPACE_CHARS}](?:[{_SPACE_CHARS}]+|(?<! ))")
_NEWLINE = "\n"
_BREAK, _PARA = 1, 2  # break markers; a run of them collapses to the strongest
# What an element puts before and after its content: a break marker or a space (none if absent).
_MARKERS: dict[str, str | int] = {
    **dict.fromkeys(_PARAGRAPH, _PARA),
    **dict.fromkeys(_LINE, _BREAK),
    **dict.fromkeys(_CELL, " "),
}


_PROMINENT = "b, strong, em, h1, h2, h3, h4, code, kbd, tt, samp, mark, big, font, span, td, th, p, div, li"
_PROMINENT_TAGS = frozenset(_PROMINENT.replace(" ", "").split(","))
_PROMINENT_MAX_NODES = 5000
_PROMINENT_MAX_LEN = 24


class _Prominent:
    """Short strings that fill a whole element on their own, e.g. ``<b>123456</b>``.

    A token that is the complete text of such an element is more likely to be the thing to
    type. Only elements whose children are all text count, and only the first
    ``_PROMINENT_MAX_NODES`` such-tagged elements of the document are looked at, so a
    pathological document costs little.
    """

    __slots__ = ("seen", "texts")

    def __init__(self) -> None:
        self.seen = 0
        self.texts: list[str] = []  # the whole texts of elements whose children were all text

    def claim(self) -> bool:
        """Count the next prominent-tagged element in document order; ``False`` past the bound."""
        self.seen += 1
        return self.seen <= _PROMINENT_MAX_NODES

    def found(self) -> frozenset[str]:
        """The short ones, whitespace collapsed; each distinct text is tidied once."""
        tidy = (_SPACES.sub(" ", text).strip() for text in set(self.texts))
        return frozenset(text for text in tidy if text and len(text) <= _PROMINENT_MAX_LEN)

    def scan(self, node: LexborNode | LexborHTMLParser) -> None:
        """Prominent elements under a node whose text is not read (``<head>``, ``<svg>``, ``<object>``)."""
        for element in node.css(_PROMINENT):
            if not self.claim():
                return
            texts = _own_texts(element)
            if texts:
                self.texts.append(" ".join(texts))


def _own_texts(node: LexborNode) -> list[str] | None:
    """The texts of ``node``'s children when all of them are text nodes, else ``None``."""
    texts: list[str] = []
    for kid in node.iter(include_text=True):
        if not kid.is_text_node:
            return None
        texts.append(kid.text_content or "")
    return texts


class _Open:
    """An element whose children are being read."""

    __slots__ = ("children", "closing", "in_pre", "texts")

    def __init__(
        self, children: Iterator[LexborNode], closing: str | int | None, in_pre: bool, texts: list[str] | None
    ):
        self.children = children
        self.closing = closing  # the marker to emit after its content
        self.in_pre = in_pre
        self.texts = texts  # its children's texts so far while it may be prominent, else None


def _walk(root: LexborNode, prominent: _Prominent) -> list[str | int]:
    """Emit text pieces and break markers in document order without recursion.

    Source newlines inside text are formatting, not breaks, except under ``<pre>``;
    ``<br>`` is a literal newline that does not collapse with block breaks. The stack holds
    one child iterator per open element, so text children (most nodes) never touch it.
    """
    out: list[str | int] = []
    emit = out.append
    stack: list[_Open] = []
    _open(root, False, stack, emit, prominent)
    while stack:
        frame = stack[-1]
        texts, in_pre = frame.texts, frame.in_pre
        for node in frame.children:
            if node.is_text_node:
                text = node.text_content or ""
                emit(text if in_pre else text.replace(_NEWLINE, " "))
                if texts is not None:
                    texts.append(text)
                continue
            if texts is not None:
                frame.texts = texts = None  # an element or comment child: the text is not all its own
            if _open(node, in_pre, stack, emit, prominent):
                break  # read the element's children before its next sibling
        else:
            stack.pop()
            if frame.closing is not None:
                emit(frame.closing)
            if texts:
                prominent.texts.append(" ".join(texts))
    return out


def _open(
    node: LexborNode, in_pre: bool, stack: list[_Open], emit: Callable[[str | int], None], prominent: _Prominent
) -> bool:
    """Start a non-text node: emit what it puts before its content and push it if its children are read."""
    tag = node.tag or ""
    if tag == "br":
        emit(_NEWLINE)
        return False
    if tag in _DROP:
        prominent.scan(node)
        return False
    if node.is_comment_node:
        return False
    marker = _MARKERS.get(tag)
    if marker is not None:
        emit(marker)
    texts: list[str] | None = [] if tag in _PROMINENT_TAGS and prominent.claim() else None
    stack.append(_Open(node.iter(include_text=True), marker, in_pre or tag == "pre", texts))
    return True


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
    lines = [line.strip() for line in _SPACES.sub(" ", raw).split(_NEWLINE)]  # no run spans a newline
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return _NEWLINE.join(tidy).strip()


def read_tree(tree: LexborHTMLParser) -> tuple[str, frozenset[str]]:
    """Readable text of the document (block elements and ``<br>`` become line breaks) and its
    prominent strings."""
    prominent = _Prominent()
    body = tree.body
    if body is not None and _head_and_body_only(tree.root):
        if tree.head is not None:
            prominent.scan(tree.head)  # it comes before the body in document order
        text = _tidy(_join(_walk(body, prominent)))
    else:  # a frameset document, or something stranger: read all of it for prominent strings
        root = body if body is not None else tree.root
        text = _tidy(_join(_walk(root, _Prominent()))) if root is not None else ""
        prominent.scan(tree)
    return text, prominent.found()


def _head_and_body_only(html: LexborNode | None) -> bool:
    """True when nothing but ``<head>``, ``<body>``, comments and text sit under ``<html>``."""
    return html is not None and all(node.tag in ("head", "body", "-comment") for node in html.iter())
