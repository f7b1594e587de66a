"""bench/ui_inbox: the web inbox's response time with 100,000 stored messages, and the query
plan of every search it makes.

One command: ``.venv/bin/python -m bench.ui_inbox`` (``--messages``, ``--requests``, ``--keep``).

1. A throw-away stack (``bench._harness.MailhookStack``: migrated SQLite, embedded Redis) is
   filled with ``--messages`` provider-parsed messages through the real insert path
   (``service.store.messages.store_batch``, 500 per transaction): 400 base addresses with plus
   tags, 50 senders, 3 sources, realistic text/HTML bodies with a code; 2 % failed, 90 % processed.
2. ``mailhook``'s web app (``service.cli.web:create_web_app``, code and link extraction plugged
   in) runs in its own uvicorn process; the client signs in like a browser.
3. Timed, one request at a time (``--requests`` each): the first inbox page (warm: its 50 codes
   are cached after the first request), older pages (cold: each page's messages are new to the
   process), every kind of search, and a message page. p50/p99/max in ms; target p99 < 200 ms.
4. ``EXPLAIN QUERY PLAN`` (SQLite) of the exact statement behind each search.
"""

# ruff: noqa: T201 (a benchmark is a command-line report: printing is its output)

from __future__ import annotations

import argparse
import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects import sqlite
from sqlmodel import col

from bench import _harness as h
from service.mail.inbound import Address, InboundEmail
from service.settings import Settings
from service.store import reads
from service.store.blobs import BlobStore
from service.store.browse import id_back
from service.store.db import make_engine
from service.store.messages import store_batch
from service.store.models import Message
from service.store.tokens import Scope, create_token
from service.ui.search import WINDOW, needs_window, parse, windowed

TARGET_P99_MS = 200.0
BATCH = 500
SEARCHES = {
    "recipient (base address, all tags)": "to:qa17@example.com",
    "recipient (exact plus-address)": "to:qa17+run3@example.com",
    "tag": "tag:run3",
    "sender": "from:sender7@shop.example",
    "subject words": "invoice",
    "body text": "text:tracking",
    "source": "source:improvmx",
    "status (rare: failed)": "status:failed",
    "tag + status": "tag:run3 status:failed",
}
_WORDS = "account order invoice welcome shipping verify reset password receipt newsletter update".split()


def _email(i: int, rng: random.Random, start: datetime) -> InboundEmail:
    base, tag = f"qa{rng.randrange(400)}", f"run{rng.randrange(40)}"
    to = f"{base}+{tag}@example.com"
    sender = f"sender{rng.randrange(50)}@shop.example"
    code = f"{rng.randrange(10**6):06d}"
    subject = f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS)} #{i}"
    body = f"Hello {base},\n\nYour verification code is {code}.\n" + " ".join(rng.choices(_WORDS, k=120))
    if i % 7 == 0:
        body += "\nTrack your parcel: https://shop.example/tracking?id=" + str(i)
    return InboundEmail(
        provider="improvmx",
        source=("improvmx", "proxiedmail", "smtp")[i % 3],
        idempotency_key=f"bench-{i}",
        raw_payload=b"{}",
        received_at=start + timedelta(seconds=i),
        envelope_from=sender,
        envelope_to=[to],
        header_from=Address("Shop", sender),
        to=[Address(None, to)],
        subject=subject,
        message_id=f"<{i}@bench.example>",
        text=body,
        html=f"<p>Your verification code is <b>{code}</b></p><p>{body[:200]}</p>",
        headers=[("Subject", subject), ("From", sender)],
    )


def seed(engine: Engine, blobs: BlobStore, count: int) -> float:
    rng = random.Random(12)
    start = datetime.now(UTC) - timedelta(seconds=count)
    began = time.perf_counter()
    for first in range(0, count, BATCH):
        store_batch(engine, blobs, [_email(i, rng, start) for i in range(first, min(count, first + BATCH))])
    with engine.begin() as conn:  # as workers would leave them: most processed, a few dead-lettered
        conn.execute(update(Message).values(status="processed"))
        conn.execute(text("UPDATE message SET status = 'failed' WHERE abs(random()) % 50 = 0"))
        conn.execute(text("UPDATE message SET status = 'pending' WHERE abs(random()) % 10 = 0"))
    return time.perf_counter() - began


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(client: httpx.Client, paths: list[str]) -> dict[str, Any]:
    times: list[float] = []
    for path in paths:
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return {
        "n": len(times),
        "p50": round(_percentile(times, 0.5), 1),
        "p99": round(_percentile(times, 0.99), 1),
        "max": round(max(times), 1),
    }


def _sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/ui/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    response = client.post("/ui/signin", data={"csrf": csrf.group(1), "token": token})
    assert response.status_code == 303, response.text


def _older_pages(client: httpx.Client, count: int) -> list[str]:
    """Paths of ``count`` successive older pages (found by following the inbox's own links)."""
    paths, path = [], "/ui"
    for _ in range(count):
        found = re.search(r'href="(/ui\?q=&amp;before=[0-9a-z]{26})">Older', client.get(path).text)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
        paths.append(path)
    return paths


def plan(engine: Engine, q: str) -> list[str]:
    """SQLite's plan for the statement ``service.ui.inbox.load_page`` runs for the search ``q``."""
    query = parse(q).query()
    floor = id_back(engine, None, WINDOW) if needs_window(query) else None
    stmt = select(Message).where(*reads._conditions(windowed(query, floor))).order_by(col(Message.id).desc()).limit(51)
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawTextHelpFormatter
    p = argparse.ArgumentParser(prog="bench.ui_inbox", description=__doc__, formatter_class=formatter)
    p.add_argument("--messages", type=int, default=100_000, help="messages to store first (default 100000)")
    p.add_argument("--requests", type=int, default=100, help="timed requests per kind (default 100)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database included)")
    args = p.parse_args(argv)
    env = h.environment()
    print(f"ui_inbox bench: {args.messages:,} messages, {args.requests} requests per kind; sqlite {env['sqlite']}, "
          f"{env['cores']} cores, git {env['git']['commit']}")  # fmt: skip
    with h.MailhookStack(keep=args.keep) as stack:
        settings = Settings(**stack.settings_kwargs())
        engine = make_engine(settings)
        seconds = seed(engine, BlobStore(settings.blob_dir), args.messages)
        print(f"seeded in {seconds:.1f} s ({args.messages / seconds:,.0f} messages/s through store_batch)")
        token, _ = create_token(engine, name="bench", scope=Scope.admin)
        web = h.UvicornServer(
            "web", "service.cli.web:create_web_app", factory=True, env=stack.env, log_path=stack.root / "web.log"
        )
        with web, httpx.Client(base_url=web.base_url, timeout=30, headers={"Accept": "text/html"}) as client:
            _sign_in(client, token)
            client.get("/ui")  # the process's first page: templates compiled, first codes found
            results = {"inbox, first page (warm)": _timed(client, ["/ui"] * args.requests)}
            older = _older_pages(client, args.requests)
            results["inbox, older pages (cold)"] = _timed(client, older)
            for label, q in SEARCHES.items():
                results[f"search: {label}"] = _timed(client, [f"/ui?q={q}"] * args.requests)
            newest = re.search(r'data-id="([0-9a-z]{26})"', client.get("/ui").text)
            assert newest is not None
            results["message page"] = _timed(client, [f"/ui/messages/{newest.group(1)}"] * args.requests)
            results["message HTML (sandboxed body)"] = _timed(client, [f"/ui/messages/{newest.group(1)}/body"] * 20)
        print(f"\n{'request':<48} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, r in results.items():
            flag = "" if r["p99"] < TARGET_P99_MS else "  <-- over target"
            print(f"{label:<48} {r['n']:>4} {r['p50']:>8} {r['p99']:>8} {r['max']:>8}{flag}")
        print("\nEXPLAIN QUERY PLAN (SQLite) of each search's statement:")
        for label, q in {"inbox (no search)": "", **SEARCHES}.items():
            print(f"  {label} [{q}]")
            for line in plan(engine, q):
                print(f"      {line}")
        engine.dispose()
        if args.keep:
            print(f"\nkept {stack.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
