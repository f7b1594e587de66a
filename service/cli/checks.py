"""``mailhook check``: is the config valid, the database reachable and migrated, Redis up?"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from redis.asyncio import Redis
from sqlalchemy import text

from service.cli.failures import hide_password
from service.config import ConfigError, load_config
from service.providers import PROVIDERS
from service.runtime.logs import first_line
from service.settings import Settings
from service.store.db import make_engine
from service.store.migrate import pending_revisions
from workers.pipeline.config import compile_config


async def run_checks(settings: Settings, echo: Callable[[str], None]) -> bool:
    results = [_check_config(settings, echo), _check_database(settings, echo), await _check_redis(settings, echo)]
    return all(results)


def _check_config(settings: Settings, echo: Callable[[str], None]) -> bool:
    if not settings.config.exists():
        echo(f"config: {settings.config} does not exist (no sources configured)")
        return False
    try:
        config = load_config(settings.config, providers=PROVIDERS)
        compiled = compile_config(config)
    except ConfigError as exc:
        echo(f"config: INVALID\n{exc}")
        return False
    routes = len(compiled.routes) if compiled.routes is not None else 0
    echo(
        f"config: ok ({len(config.sources)} source(s), {len(compiled.pipelines)} pipeline(s), "
        f"{routes} route(s) in {settings.config})"
    )
    if compiled.routes is not None:
        for name in compiled.routes.shadowed():
            echo(f"config: warning: route {name!r} can never match (after a catch-all without continue)")
    return True


def _check_database(settings: Settings, echo: Callable[[str], None]) -> bool:
    engine = make_engine(settings, busy_timeout_ms=2000)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        pending = pending_revisions(engine)
    except Exception as exc:  # report any failure to reach the database, then fail the check
        where = engine.url.render_as_string(hide_password=True)
        echo(f"database: UNREACHABLE at {where} ({type(exc).__name__}: {first_line(exc)}; set MAILHOOK_DATABASE_URL)")
        return False
    finally:
        engine.dispose()
    if pending:
        echo(f"database: reachable but {len(pending)} migration(s) pending; run `mailhook migrate`")
        return False
    echo("database: ok (migrations current)")
    return True


async def _check_redis(settings: Settings, echo: Callable[[str], None]) -> bool:
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2.0)
    try:
        await asyncio.wait_for(redis.ping(), 3.0)
    except Exception as exc:  # any failure means Redis is not usable
        where = hide_password(settings.redis_url)
        echo(f"redis: UNREACHABLE at {where} ({type(exc).__name__}; set MAILHOOK_REDIS_URL)")
        return False
    finally:
        await redis.aclose()
    echo("redis: ok")
    return True
