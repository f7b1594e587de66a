"""The state of one client-side wait, shared by both clients: deadline, cursor, what is wanted.

The server holds each ``GET /wait`` for at most its ``max_wait_s``; a caller's wait may be longer,
so :class:`WaitPlan` turns one caller's wait into as many requests as it takes, resuming each time
from the cursor the server returned, and decides what every answer means.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import httpx

from service.client.config import ClientConfig
from service.client.errors import MailhookError, WaitTimeout
from service.client.exchange import check, error_from_response, parse
from service.client.models import Summary, WaitResult
from service.client.operations import Operation, Since, since_text

#: Gateways answer these while a server restarts or when they cut a long poll; a wait retries them.
TRANSIENT_STATUSES = frozenset({502, 503, 504})
TRANSIENT_PAUSE_S = 0.5
#: The largest ``timeout`` the contract lets ``GET /wait`` take (larger is a 400).
MAX_WAIT_PARAM_S = 86400

LinkMatch = str | re.Pattern[str] | None


class WaitOptions(TypedDict, total=False):
    """How a wait narrows and bounds itself; the defaults are :func:`wait_plan`'s."""

    from_: str | None
    subject: str | None
    since: Since | None
    timeout: float
    claim: bool


@dataclass(frozen=True)
class Want:
    """What a wait is after in a message: ``pick`` returns it, or None to keep waiting."""

    describe: str
    pick: Callable[[Summary], str | None]

    @classmethod
    def message(cls) -> Want:
        return cls("", lambda message: message.id)

    @classmethod
    def code(cls) -> Want:
        return cls(" with a code", lambda message: message.code)

    @classmethod
    def link(cls, match: LinkMatch = None) -> Want:
        if match is None:
            return cls(" with a link", lambda message: next(iter(message.links), None))
        if isinstance(match, str):
            return cls(f" with a link containing {match!r}", lambda m: next((u for u in m.links if match in u), None))
        pattern = match
        return cls(
            f" with a link matching /{pattern.pattern}/",
            lambda m: next((u for u in m.links if pattern.search(u)), None),
        )

    def picked(self, message: Summary) -> str:
        """What ``pick`` found in a message a wait returned (it returns only messages with one)."""
        found = self.pick(message)
        assert found is not None  # a wait returns only a message its `want` accepted
        return found


@dataclass
class WaitPlan:
    """State of one client-side wait: the deadline, the cursor to resume from, what was skipped.

    The server holds each ``GET /wait`` at most ``max_wait_s`` and then answers 408 with
    ``capped: true`` and a fresh ``cursor``; the plan resumes from that cursor until the caller's
    own deadline. A message that arrives but is not wanted (no code, no matching link) moves the
    cursor past it and is remembered, so the final :class:`WaitTimeout` can say what did arrive.
    """

    to: str
    from_: str | None
    subject: str | None
    since: str | None
    timeout: float
    claim: bool
    want: Want = field(default_factory=Want.message)
    clock: Callable[[], float] = time.monotonic
    skipped: list[Summary] = field(default_factory=list)
    pause: float = 0.0
    last_error: MailhookError | None = None
    deadline: float = 0.0

    def __post_init__(self) -> None:
        if self.timeout < 0:
            raise ValueError("timeout must be >= 0")
        self.deadline = self.clock() + self.timeout

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def next_request(self, margin: float) -> Operation[WaitResult]:
        """The next ``GET /wait``, with an HTTP timeout that outlasts it by ``margin``."""
        # Whole seconds, rounded up: the server may accept integers only, and waiting up to a
        # second past the caller's deadline beats giving up before it. The contract caps the
        # parameter at one day; longer waits are several requests like any capped wait.
        seconds = min(math.ceil(self.remaining()), MAX_WAIT_PARAM_S)
        params = {"to": self.to, "timeout": str(seconds)}
        if self.from_:
            params["from"] = self.from_
        if self.subject:
            params["subject"] = self.subject
        if self.since:
            params["since"] = self.since
        if self.claim:
            params["claim"] = "true"
        timeout = httpx.Timeout(margin, read=seconds + margin)
        return Operation("GET", "/wait", WaitResult.from_json, params=params, timeout=timeout)

    def on_answer(self, response: httpx.Response, config: ClientConfig) -> WaitResult | None:
        """The result when the answer carries a wanted message; None to ask again after ``pause``.

        Once the deadline has passed without one, raises what :meth:`give_up` says.
        """
        found = self._read(response, config)
        if found is not None:
            return found
        if self.expired():
            raise self.give_up()
        self.pause = min(self.pause, self.remaining())
        return None

    def _read(self, response: httpx.Response, config: ClientConfig) -> WaitResult | None:
        self.pause = 0.0
        if response.status_code == 408:
            details = error_from_response(response, config).details
            self.since = str(details["cursor"]) if details.get("cursor") else self.since
            return None
        if response.status_code in TRANSIENT_STATUSES:
            self.last_error = error_from_response(response, config)
            self.pause = TRANSIENT_PAUSE_S
            return None
        result = parse(WaitResult.from_json, check(response, config))
        self.since, self.last_error = result.cursor, None
        if self.want.pick(result.message) is not None:
            return result
        self.skipped.append(result.message)
        return None

    def give_up(self) -> MailhookError:
        """The error once the deadline has passed: a gateway failure if that is all we got."""
        if self.last_error is not None:
            return self.last_error
        return WaitTimeout(self.describe(), details={"to": self.to, "since": self.since, "timeout": self.timeout})

    def describe(self) -> str:
        what = f"no message{self.want.describe} to {self.to}"
        if self.from_:
            what += f" from {self.from_}"
        if self.subject:
            what += f" with subject containing {self.subject!r}"
        what += f" within {self.timeout:g} s"
        if self.skipped:
            subjects = ", ".join(repr(message.subject or "(no subject)") for message in self.skipped[:5])
            what += f" ({len(self.skipped)} other message(s) arrived: {subjects})"
        return what


def wait_plan(
    to: str,
    want: Want,
    *,
    from_: str | None = None,
    subject: str | None = None,
    since: Since | None = None,
    timeout: float = 60,
    claim: bool = False,
) -> WaitPlan:
    """The plan for one wait: every ``wait_for_*`` of both clients, with the defaults spelled once."""
    cursor = None if since is None else since_text(since)
    return WaitPlan(to, from_, subject, cursor, timeout, claim, want=want)
