"""One line, not a traceback, when a command cannot reach a service it needs.

The line names what was unreachable, where (passwords hidden) and the setting that says where,
so the fix is obvious: start the service or correct the setting.
"""

from __future__ import annotations

import re

from redis.exceptions import RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from service.runtime.logs import first_line
from service.settings import Settings

_PASSWORD = re.compile(r"(//[^:/@]*:)[^@/]*@")

#: Exceptions that mean "a service is unreachable", not "Mailhook has a bug".
UNREACHABLE: tuple[type[BaseException], ...] = (RedisError, OperationalError, DBAPIError, ConnectionError)


def hide_password(url: str) -> str:
    return _PASSWORD.sub(r"\1***@", url)


def describe_unreachable(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, RedisError):
        where = hide_password(settings.redis_url)
        return f"cannot reach Redis at {where} (set MAILHOOK_REDIS_URL): {first_line(exc)}"
    if isinstance(exc, DBAPIError | OperationalError):
        try:
            where = make_url(settings.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            where = hide_password(settings.database_url)
        return f"cannot reach the database at {where} (set MAILHOOK_DATABASE_URL): {first_line(exc)}"
    return f"connection failed: {first_line(exc)}"
