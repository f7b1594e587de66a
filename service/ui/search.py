"""The inbox search box: ``to:signup@x.org tag:run1 status:failed welcome`` into a ``MessageQuery``
(the read API's own query type, answered by ``service.store.reads.list_page``).

Terms are ``key:value`` (``key:"two words"``) with the read API's filter names: ``to`` (exact
address, or a base address with all its plus-tags), ``from``, ``subject``, ``text`` (the body),
``tag``, ``source``, ``status``. Other words search the subject.

Recipient and tag filters are answered from the ``messagerecipient`` indexes, source and status
from ``(source, id)`` and ``(status, id)``, whatever the table size. A substring (subject, body)
or the sender (two columns, compared case-insensitively) has no index; rather than scanning
100,000 rows, such a search looks through one window of ``WINDOW`` messages per page (a
primary-key range) and offers to continue further back: every page costs the same, however old
the mail searched for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from service.store.models import MessageStatus
from service.store.reads import MessageQuery
from service.store.recipients import split_address
from service.ui.errors import BadRequest

KEYS = ("to", "from", "subject", "text", "tag", "source", "status")
STATUSES = tuple(s.value for s in MessageStatus)
#: Messages one substring-search page looks through (a primary-key range).
WINDOW = 5000
_TERM = re.compile(r'(?:(?P<key>[a-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')
_MAX_Q = 500


@dataclass(frozen=True, slots=True)
class Search:
    """A parsed search: the filters, and the words typed without a key (they search the subject)."""

    filters: dict[str, str] = field(default_factory=dict)
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.filters and not self.words

    def with_filter(self, key: str, value: str) -> str:
        """This search as text, with ``key:value`` set (the tag and status links)."""
        filters = {**self.filters, key: value}
        return unparse(Search(filters, self.words))

    def query(self) -> MessageQuery:
        to = self.filters.get("to")
        sender = self.filters.get("from")
        subject = " ".join([self.filters.get("subject", ""), *self.words]).strip() or None
        return MessageQuery(
            to=split_address(to) if to else None,
            tag=self.filters["tag"].lower() if "tag" in self.filters else None,
            sender=sender.strip().lower() if sender else None,
            subject=subject,
            text=self.filters.get("text"),
            source=self.filters.get("source"),
            status=self.filters.get("status"),
        )


def parse(text: str | None) -> Search:
    text = (text or "").strip()[:_MAX_Q]
    filters: dict[str, str] = {}
    words: list[str] = []
    for match in _TERM.finditer(text):
        key, quoted = match.group("key"), match.group("quoted")
        value = (quoted if quoted is not None else match.group("bare")).strip()
        if key in KEYS and value:
            filters[key] = value
        elif key and value:
            words.append(f"{key}:{value}")
        elif value:
            words.append(value)
    status = filters.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    return Search(filters, tuple(words))


def _quoted(value: str) -> str:
    return f'"{value}"' if re.search(r"\s", value) else value


def unparse(search: Search) -> str:
    terms = [f"{key}:{_quoted(value)}" for key, value in search.filters.items()]
    return " ".join([*terms, *(_quoted(word) for word in search.words)])


def indexed(query: MessageQuery) -> bool:
    """Whether the recipient index narrows this query (so no window is needed)."""
    return query.to is not None or query.tag is not None


def needs_window(query: MessageQuery) -> bool:
    """Filters no index answers in id order: substrings, and the sender (two columns compared
    case-insensitively). Source and status have ``(source, id)`` and ``(status, id)`` indexes."""
    if indexed(query):
        return False
    return any(v is not None for v in (query.sender, query.subject, query.text))


def windowed(query: MessageQuery, floor: str | None) -> MessageQuery:
    """``query`` limited to ids above ``floor`` (``None``: no floor, the window reaches the start).
    Ids of equal length compare as strings in time order, so the higher bound is the tighter."""
    if floor is None or (query.after is not None and query.after >= floor):
        return query
    return replace(query, after=floor)
