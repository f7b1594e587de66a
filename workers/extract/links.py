"""Find the links in a mail that a person would click to verify, confirm or sign in.

Mail is full of links nobody needs from an automation's point of view: unsubscribe
footers, social icons, logos, stylesheets, fonts. Those are dropped; ``<img src>`` (and so
every tracking pixel) is never collected at all. What is left is ranked
so the verification / magic-login / reset / invite link comes first: hooks usually want
exactly one URL and take the first. Ranking uses what a reader sees (the anchor text and
the sentence around a bare URL) as well as the URL itself (``/verify``, ``token=``, a long
random path segment), because templates name their endpoints very differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from workers.extract.html_view import read_html
from workers.extract.nocase import NoCase

__all__ = ["find_links"]

_URL_IN_TEXT = re.compile(r"""(?i)\bhttps?://[^\s<>"'`\u00a0]+""")
_TRAILING = ".,;:!?'\"*»”’>"
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_ENTITY_VALUES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}

_ASSET_PATH = re.compile(
    r"(?i)\.(?:png|jpe?g|gif|webp|svg|ico|bmp|tiff?|avif|css|js|mjs|woff2?|ttf|otf|eot|map|mp[34]|webm|mov|dtd|xsd)$"
)
_UNSUBSCRIBE = NoCase(
    r"unsub|opt[-_ ]?out|list-manage|email[-_ ]?preferences|manage[-_ ]?(?:your[-_ ])?(?:email|subscription|"
    r"notification|preferences)|notification[-_ ]settings|abmelden|abbestellen|d[ée]sinscri|d[ée]sabonn|"
    r"darse[-_ ]de[-_ ]baja|cancelar[-_ ]suscripci|disiscriviti|afmelden"
)
_SOCIAL_HOSTS = frozenset(
    {
        "facebook.com", "fb.com", "twitter.com", "x.com", "instagram.com", "linkedin.com", "youtube.com",
        "youtu.be", "tiktok.com", "pinterest.com", "reddit.com", "github.com", "discord.gg", "discord.com",
        "t.me", "telegram.me", "medium.com", "threads.net", "snapchat.com", "whatsapp.com", "vk.com",
        "weibo.com", "xing.com", "tumblr.com", "twitch.tv", "mastodon.social", "bsky.app", "dribbble.com",
        "behance.net", "vimeo.com", "flickr.com",
    }
)  # fmt: skip
# XML namespaces and DTDs that leak into text parts from raw HTML: never a link to follow.
_SCHEMA_HOSTS = frozenset({"w3.org", "schemas.microsoft.com", "schemas.openxmlformats.org", "purl.org", "xmlns.com"})
_VERIFY_WORDS = NoCase(
    r"verif|confirm|activat|magic|log[-_ ]?in|sign[-_ ]?in|signin|sign[-_ ]?up|auth|passwor|reset|recover|"
    r"invit|accept|validat|one[-_ ]?time|otp|passcode|token|onboard|welcome|claim|bestätig|best%c3%a4tig|"
    r"anmeld|verifica|confirma|activa|connexion|connecter|valider|inici|accedi|zugang|подтвер|验证|確認|認証"
)
_QUERY_SECRET = re.compile(r"(?i)[?&#](?:token|code|key|otp|signature|sig|hash|ticket|nonce)=")
_LONG_RANDOM = re.compile(r"[A-Za-z0-9_-]{20,}")
_LOW_VALUE = NoCase(r"privacy|terms|legal|cookie|/help\b|support|faq|contact|about|careers|press|blog")


@dataclass(frozen=True, slots=True)
class _Found:
    """A URL plus the human-visible words that describe it (anchor text or its line)."""

    url: str
    label: str
    icon: bool = False


def _unescape(url: str) -> str:
    """Decode only well-formed entities: ``&copy=1`` in a query string must stay as it is."""

    def repl(match: re.Match[str]) -> str:
        entity = match.group(0)
        if entity in _ENTITY_VALUES:
            return _ENTITY_VALUES[entity]
        number = entity[2:-1]
        code = int(number[1:], 16) if number[:1] in "xX" else int(number)
        return chr(code) if 0 < code < 0x110000 else entity

    return _ENTITY.sub(repl, url)


def _trim(url: str) -> str:
    """Drop sentence punctuation glued to a bare URL, keeping balanced closing brackets."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in ")]}" and url.count(last) > url.count({")": "(", "]": "[", "}": "{"}[last]):
            url = url[:-1]
        else:
            break
    return url


def _from_text(text: str) -> list[_Found]:
    """Bare URLs in plain text, labelled by the line they sit on and the line before it."""
    found: list[_Found] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "://" not in line:
            continue  # cheaper than running the pattern over every line of the mail
        for match in _URL_IN_TEXT.finditer(line):
            url = _trim(_unescape(match.group(0)))
            before = lines[index - 1] if index else ""
            found.append(_Found(url, f"{before} {line[: match.start()]}"))
    return found


def _from_html(html: str) -> list[_Found]:
    """``<a href>`` / ``<area href>`` targets labelled by their visible text (or image alt)."""
    return [_Found(anchor.href, anchor.label, anchor.icon) for anchor in read_html(html).anchors]


def _host(url: str) -> str:
    """Lower-case host without ``www.``; empty when the URL does not parse."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _within(host: str, domains: frozenset[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one: one set lookup per label."""
    while host not in domains:
        dot = host.find(".")
        if dot < 0:
            return False
        host = host[dot + 1 :]
    return True


def _rank(item: _Found) -> int | None:
    """The score of an http(s) link worth keeping; ``None`` for assets, unsubscribe/tracking
    links and social footers."""
    url = item.url
    if not url.lower().startswith(("http://", "https://")):
        return None
    host = _host(url)
    if not host or _within(host, _SCHEMA_HOSTS):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    if _ASSET_PATH.search(path) or _UNSUBSCRIBE.search(url):
        return None
    if _UNSUBSCRIBE.search(item.label) and not _VERIFY_WORDS.search(url):
        return None
    score = _score(item)
    return None if (item.icon or _within(host, _SOCIAL_HOSTS)) and score < 3 else score


def _score(item: _Found) -> int:
    """How much ``item`` looks like a verification / sign-in / reset link."""
    url_part = item.url.split("://", 1)[-1]
    score = 0
    if _VERIFY_WORDS.search(url_part):
        score += 2
    if _VERIFY_WORDS.search(item.label):
        score += 2
    if _QUERY_SECRET.search(item.url):
        score += 2
    if _LONG_RANDOM.search(url_part.split("/", 1)[-1]):
        score += 1
    if _LOW_VALUE.search(url_part) and score < 3:
        score -= 1
    return score


def find_links(text: str | None, html: str | None) -> list[str]:
    """Every useful http(s) link in the mail, verification-like links first, each once.

    HTML anchors come before bare URLs of the same rank (their labels are more reliable);
    otherwise order of appearance is kept, so the result is stable for a given mail.
    """
    found: list[_Found] = []
    if html:
        found += _from_html(html)
    if text:
        found += _from_text(text)
    best: dict[str, tuple[int, int]] = {}
    for position, item in enumerate(found):
        score = _rank(item)
        if score is None:
            continue
        previous = best.get(item.url)
        if previous is None:
            best[item.url] = (score, position)
        elif score > previous[0]:
            best[item.url] = (score, previous[1])
    return sorted(best, key=lambda url: (-best[url][0], best[url][1]))
