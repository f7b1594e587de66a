"""The storage floor: the least work any durable ingest design must do per delivery, with none
of Mailhook's normalisation. It reads the body, parses the JSON, compares a secret in constant
time, derives an idempotency key, compresses the payload, group-commits it (SQLite WAL,
synchronous=FULL, one transaction per batch in a thread) and batch-enqueues the ids.

``bench/ingest`` measures it as the "floor" target next to bare and Mailhook (``--only floor``,
``--floor-env FLOOR_MODE=…``): its rate against the bare endpoint is the best ratio a design that
keeps "200 means committed" can reach here, and mailhook/floor is how close Mailhook gets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sqlite3
import zlib
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.handoff.queue import BatchingEnqueuer, JobQueue
from service.store.ids import new_id

_SECRET = b"x" * 32
#: FLOOR_MODE: "full" (default), "nosync" (synchronous=OFF), "nostore" (answer before storing).
_MODE = os.environ.get("FLOOR_MODE", "full")


class _Floor:
    def __init__(self) -> None:
        data_dir = os.environ.get("MAILHOOK_DATA_DIR", "/tmp")
        os.makedirs(data_dir, exist_ok=True)
        path = os.path.join(data_dir, "floor.sqlite3")
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'OFF' if _MODE == 'nosync' else 'FULL'}")
        self.db.execute("CREATE TABLE IF NOT EXISTS m (id TEXT PRIMARY KEY, k TEXT UNIQUE, p BLOB)")
        self.queue: asyncio.Queue[tuple[tuple[str, str, bytes], asyncio.Future[None]]] = asyncio.Queue()
        self.redis = Redis.from_url(os.environ.get("MAILHOOK_REDIS_URL", "redis://127.0.0.1:6379/0"))
        self.enqueuer = BatchingEnqueuer(JobQueue(self.redis, "floor"))

    def commit(self, rows: list[tuple[str, str, bytes]]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR IGNORE INTO m VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await asyncio.to_thread(self.commit, [row for row, _ in batch])
            for _, done in batch:
                done.set_result(None)
            self.enqueuer.add([row[0] for row, _ in batch])


floor: Any = None


async def receive(request: Request) -> Response:
    hmac.compare_digest(request.path_params["secret"].encode(), _SECRET)
    body = await request.body()
    data = json.loads(body)
    key = hashlib.sha256(f"{data['message-id']}\x1f{data['timestamp']}".encode()).hexdigest()
    row = (new_id(), key, zlib.compress(body, 1))
    if _MODE == "nostore":
        return JSONResponse({"status": "accepted", "messages": [{"id": row[0], "duplicate": False}]})
    done = asyncio.get_running_loop().create_future()
    await floor.queue.put((row, done))
    await done
    return JSONResponse({"status": "accepted", "messages": [{"id": row[0], "duplicate": False}]})


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette):
    global floor
    floor = _Floor()
    await floor.enqueuer.start()
    task = asyncio.create_task(floor.run())
    yield
    task.cancel()
    await floor.enqueuer.stop()


app = Starlette(
    routes=[Route("/livez", livez, methods=["GET"]), Route("/hooks/{source}/{secret}", receive, methods=["POST"])],
    lifespan=lifespan,
)
