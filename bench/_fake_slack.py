"""A minimal, fast stand-in for a Slack incoming webhook, run as its own process by bench/pipeline.

``tests/support/servers.py``'s ``FakeSlack`` is a Starlette app in the test process; here the
fake must cost the worker nothing, so it is a bare asyncio protocol (uvloop when installed) on
127.0.0.1 that answers keep-alive HTTP/1.1 requests:

* ``POST /services/…`` with a JSON body: 200 ``ok`` when the JSON is an object with ``text`` or
  ``blocks`` (as Slack checks), else 400 ``invalid_payload``. Counted.
* ``GET /_stats``: ``{"posts": n, "bad": n, "with_code": n, "connections": n}``; ``with_code``
  counts posts whose ``text`` contains ``--code`` (the OTP the pipeline should have found),
  ``connections`` the TCP connections accepted (keep-alive reuse shows as few connections).
* ``POST /_reset``: zero the counters (answers like ``/_stats``).

    python -m bench._fake_slack --port 8123 [--code 482913]
"""

# ruff: noqa: T201 (prints its readiness line for the parent process)

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\ninvalid_payload"


class Stats:
    def __init__(self, code: str) -> None:
        self.code = code
        self.posts = self.bad = self.with_code = self.connections = 0

    def as_json(self) -> bytes:
        return json.dumps(
            {"posts": self.posts, "bad": self.bad, "with_code": self.with_code, "connections": self.connections}
        ).encode()


class SlackProtocol(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.respond(head.split(" ", 2), body)

    def respond(self, request_line: list[str], body: bytes) -> None:
        assert self.transport is not None
        method, path = request_line[0], request_line[1] if len(request_line) > 1 else "/"
        if method == "POST" and path == "/_reset":
            self.stats.posts = self.stats.bad = self.stats.with_code = 0
            self.stats.connections = 0
            method, path = "GET", "/_stats"
        if method == "GET" and path == "/_stats":
            stats = self.stats.as_json()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(stats) + stats
            )
            return
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            self.stats.bad += 1
            self.transport.write(_BAD)
            return
        self.stats.posts += 1
        if self.stats.code and self.stats.code in str(payload.get("text", "")):
            self.stats.with_code += 1
        self.transport.write(_OK)


async def serve(port: int, code: str) -> None:
    stats = Stats(code)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SlackProtocol(stats), "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--code", default="")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.code))
    else:
        uvloop.run(serve(args.port, args.code))


if __name__ == "__main__":
    main()
